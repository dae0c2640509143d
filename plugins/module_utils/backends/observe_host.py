# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""observe.py's node half, for the flow_records module: the flow records our sets hold, the hit
counters of our rules and the node's addresses; and, when asked, the records cleared. It reads
and empties our backends' own objects, through their Runner, so it sits with them; the parsing
is in observe.py, this runs the commands."""

from __future__ import annotations

import json
import re
import time

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends import observe
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.iptables import render as iptables
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.nftables import render as nftables
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.base import BackendError, Runner
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.iptables.host import IptablesHost

COUNTED_RULE = re.compile(r"^\[(\d+):(\d+)\] -A %s (.*)$" % iptables.CHAIN)
COMMENT = re.compile(r'--comment "([^"]*)"')
ADDRESS = re.compile(r"^\d+: (\S+)\s+inet6? (\S+) .*scope (global|site)")


def _nft_set(runner, nft, name):
    rc, out, _err = runner.output([nft, "-j", "list", "set", nftables.FAMILY, nftables.TABLE, name])
    return out if rc == 0 else None


def nft_state(runner):
    """(records, rule hits, record set names) from our table; None when the node has no table of ours."""
    nft = runner.path("nft")
    if not nft:
        return None
    rc, out, _err = runner.output([nft, "-j", "list", "chain", nftables.FAMILY, nftables.TABLE, nftables.CHAIN])
    if rc != 0:
        return None
    hits = {}
    for item in json.loads(out or "{}").get("nftables", []):
        rule = item.get("rule")
        if not rule or not rule.get("comment"):
            continue
        counter = next((expr["counter"] for expr in rule.get("expr", []) if isinstance(expr, dict) and "counter" in expr), None)
        if counter is not None:
            _add_hits(hits, rule["comment"], counter.get("packets", 0), counter.get("bytes", 0))
    now = int(time.time())
    listing, names = {}, []
    for family in ("ipv4", "ipv6"):
        observed, first = (_nft_set(runner, nft, observe.nft_set(name, family)) for name in observe.NFT_SETS)
        if observed is not None:
            listing[family] = (observed, first)
            names += [observe.nft_set(name, family) for name in observe.NFT_SETS]
    return observe.nft_records(listing, now), hits, names


def iptables_state(runner):
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
                _add_hits(hits, comment.group(1), match.group(1), match.group(2))
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


def _add_hits(hits, comment, packets, bytes_):
    entry = hits.setdefault(comment, {"rule": comment, "packets": 0, "bytes": 0})
    entry["packets"] += int(packets)
    entry["bytes"] += int(bytes_)


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


def clear(runner, backend, names):
    """Empty our record sets (a new observation window); the rules and peer sets stay."""
    for name in names:
        if backend == "nftables":
            runner.run([runner.path("nft"), "flush", "set", nftables.FAMILY, nftables.TABLE, name])
        else:
            runner.run([runner.path("ipset"), "flush", name])


def gather(module, reset):
    """The module's result: backend, records, rule_hits, addresses, bounds, and whether a reset
    changed (or, in check mode, would change) anything."""
    runner = Runner(module)
    result = {"backend": None, "records": [], "rule_hits": [], "addresses": addresses(runner),
              "bound": {"entries_per_set": observe.SIZE, "timeout": observe.TIMEOUT}, "changed": False}
    for backend, read in (("nftables", nft_state), ("iptables", iptables_state)):
        state = read(runner)
        if state is None:
            continue
        records, hits, names = state
        result.update(backend=backend, records=records, rule_hits=sorted(hits.values(), key=lambda hit: hit["rule"]),
                      record_sets=names)
        if reset and records:
            result["changed"] = True
            if not module.check_mode:
                clear(runner, backend, names)
        break
    return result
