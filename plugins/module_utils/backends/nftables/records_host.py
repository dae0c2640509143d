# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The nftables backend's flow records on the node (module flow_records, through
backends/observe_host.py): the records our table's sets hold, the hit counters of our rules, and
the sets emptied when asked. The firewalld backend's records are in the same table."""

from __future__ import annotations

import json
import time

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends import observe
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.nftables import render as nftables


def _nft_set(runner, nft, name):
    rc, out, _err = runner.output([nft, "-j", "list", "set", nftables.FAMILY, nftables.TABLE, name])
    return out if rc == 0 else None


def state(runner):
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
            observe.add_hits(hits, rule["comment"], counter.get("packets", 0), counter.get("bytes", 0))
    now = int(time.time())
    listing, names = {}, []
    for family in ("ipv4", "ipv6"):
        observed, first = (_nft_set(runner, nft, observe.nft_set(name, family)) for name in observe.NFT_SETS)
        if observed is not None:
            listing[family] = (observed, first)
            names += [observe.nft_set(name, family) for name in observe.NFT_SETS]
    return observe.nft_records(listing, now), hits, names


def clear(runner, names):
    """Empty our record sets (a new observation window); the rules and peer sets stay."""
    for name in names:
        runner.run([runner.path("nft"), "flush", "set", nftables.FAMILY, nftables.TABLE, name])
