# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The node half (host.py) of each backend of backends/registry.py. A module's payload holds only
the module_utils its files import by name, so the node halves are imported here one by one (a unit
test keeps this list equal to the registry's)."""

from __future__ import annotations

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.base import BackendError
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.firewalld.host import FirewalldBackend
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.iptables.host import IptablesBackend
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.nftables.host import NftablesBackend
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.registry import NAMES

BACKENDS = dict((backend.spec.name, backend) for backend in (FirewalldBackend, IptablesBackend, NftablesBackend))


def backend_for(name, module, params, result):
    """The backend called name, for this run."""
    if name not in BACKENDS:
        raise BackendError("backend %r is not known; allowed: %s" % (name, ", ".join(NAMES)))
    return BACKENDS[name](module, params, result)
