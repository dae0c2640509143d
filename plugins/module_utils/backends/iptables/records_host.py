# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The iptables backend's flow records on the node (module flow_records, through
backends/observe_host.py): the records our ipsets hold, the hit counters of our chain's rules, and
the sets emptied when asked."""

from __future__ import annotations

import re
import time

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends import observe
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.base import BackendError
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.iptables import render as iptables
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.iptables.host import IptablesHost

COUNTED_RULE = re.compile(r"^\[(\d+):(\d+)\] -A %s (.*)$" % iptables.CHAIN)
COMMENT = re.compile(r'--comment "([^"]*)"')


def state(runner):
    """(records, rule hits, record set names) from our chain and ipsets; None without our chain."""
    if not runner.path("iptables") and not runner.path("iptables-nft") and not runner.path("iptables-legacy"):
        return None
    try:
        host = IptablesHost(runner)
    except BackendError:
        return None
    hits, found = {}, False
    for family in ("ipv4", "ipv6"):
        if family == "ipv6" and not host.ipv6_available():
            continue
        rc, out, _err = runner.output([host._bin(family, "save"), "-c", "-t", "filter"])
        for line in (out if rc == 0 else "").splitlines():
            found = found or line.startswith(":%s " % iptables.CHAIN)
            match = COUNTED_RULE.match(line)
            comment = COMMENT.search(match.group(3)) if match else None
            if comment and comment.group(1) != "microseg: observe":
                observe.add_hits(hits, comment.group(1), match.group(1), match.group(2))
    if not found:
        return None
    ipset = runner.path("ipset")
    texts, names = [], []
    for family in ("ipv4", "ipv6"):
        for name in observe.ipset_names(family):
            rc, out, _err = runner.output([ipset, "save", name]) if ipset else (1, "", "")
            if rc == 0:
                texts.append(out)
                names.append(name)
    return observe.ipset_records("\n".join(texts), int(time.time())), hits, names


def clear(runner, names):
    """Empty our record sets (a new observation window); the rules and peer sets stay."""
    for name in names:
        runner.run([runner.path("ipset"), "flush", name])
