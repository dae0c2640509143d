# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The firewall backends host_firewall can drive, by name: the only place that maps a name to
its implementation (the planner side decides which name a node gets: profile.choose_backend)."""

from __future__ import annotations

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.base import BackendError
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.firewalld.host import FirewalldBackend
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.iptables.host import IptablesBackend
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.nftables.host import NftablesBackend

BACKENDS = dict((backend.name, backend) for backend in (FirewalldBackend, IptablesBackend, NftablesBackend))
NAMES = tuple(sorted(BACKENDS))


def backend_for(name, module, params, result):
    """The backend called `name`, for this run."""
    if name not in BACKENDS:
        raise BackendError("backend %r is not known; allowed: %s" % (name, ", ".join(NAMES)))
    return BACKENDS[name](module, params, result)
