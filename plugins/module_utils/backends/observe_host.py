# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""observe.py's node half, for the flow_records module: the flow records our sets hold, the hit
counters of our rules and the node's addresses; and, when asked, the records cleared. Each
backend that keeps records reads and empties its own objects (its package's records_host.py:
state(runner), clear(runner, names)); this asks them in turn. The parsing is in observe.py."""

from __future__ import annotations

import re

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends import observe
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.base import Runner
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.iptables import records_host as iptables_records
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.nftables import records_host as nftables_records

# the backends that keep flow records, by the name the result gives (the firewalld backend's are in
# the nftables backend's table); the last one that finds records is the one reported
READERS = (("nftables", nftables_records), ("iptables", iptables_records))
ADDRESS = re.compile(r"^\d+: (\S+)\s+inet6? (\S+) .*scope (global|site)")


def addresses(runner):
    """The node's global addresses (what its peers may see it come from), from `ip -o address`."""
    ip = runner.path("ip")
    if not ip:
        return []
    rc, out, _err = runner.output([ip, "-o", "address", "show"])
    found = []
    for line in (out if rc == 0 else "").splitlines():
        match = ADDRESS.match(line)
        if match and match.group(1) != "lo":
            found.append(match.group(2).split("/")[0])
    return found


def gather(module, reset):
    """The module's result: backend, records, rule_hits, addresses, bounds, and whether a reset
    changed (or, in check mode, would change) anything."""
    runner = Runner(module)
    result = {"backend": None, "records": [], "rule_hits": [], "addresses": addresses(runner),
              "bound": {"entries_per_set": observe.SIZE, "timeout": observe.TIMEOUT}, "changed": False}
    for backend, reader in READERS:
        state = reader.state(runner)
        if state is None:
            continue
        records, hits, names = state
        result.update(backend=backend, records=records, rule_hits=sorted(hits.values(), key=lambda hit: hit["rule"]),
                      record_sets=names)
        if reset and records:
            result["changed"] = True
            if not module.check_mode:
                reader.clear(runner, names)
        break
    return result
