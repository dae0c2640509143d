# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What on a node would still drop, after our rules, what the plan admits, from the node's firewall
facts: the computation every backend's `blockers` (its spec.py) shares, told what the backend
drives. The planner asks it for every backend the user may choose (the backend chosen for the
node decides which list the plan carries); the facts only say what is there. Pure."""

from __future__ import annotations

OUR_NFT_TABLE = "inet microseg"
FIREWALLD_NFT_TABLE = "inet firewalld"
FIREWALLD_BLOCKS = ("firewalld is running: its zones reject what they do not allow, whatever this plan admits; use "
                    "microseg_backend: firewalld (auto chooses it), which opens the plan in firewalld, or stop and "
                    "disable firewalld")


def input_blockers(facts, opens_firewalld=False, driven_tables=(), in_iptables_input=False):
    """What on the node still drops, after our rules, packets the plan admits -> [text].
    facts: firewall_facts. What the backend drives: opens_firewalld (it opens the plan in a running
    firewalld's zones), driven_tables (the nft tables whose input chains are ours or opened by us),
    in_iptables_input (our rules run in the iptables variant's INPUT ahead of its terminal rule: not
    a blocker there). Every other INPUT hook that drops by policy or by an unconditional rule is one
    (in netfilter an accept is final only for its own chain: each base chain on the hook must accept)."""
    facts = facts or {}
    found = []
    if (facts.get("firewalld") or {}).get("active") and not opens_firewalld:
        found.append(FIREWALLD_BLOCKS)
    for chain in (facts.get("nftables") or {}).get("input_chains") or []:
        if chain["table"] in driven_tables:
            continue
        if chain["policy"] == "drop" or chain["drops_all"]:
            how = "policy drop" if chain["policy"] == "drop" else "a rule that drops every packet"
            found.append("nft table %s chain %s (input hook, priority %s) has %s: it also drops what this plan admits"
                         % (chain["table"], chain["chain"], chain["prio"], how))
    iptables = facts.get("iptables") or {}
    for variant, families in sorted((iptables.get("input") or {}).items()):
        if in_iptables_input and variant == iptables.get("variant"):
            continue
        for family, verdict in sorted(families.items()):
            what = [text for text in ("policy %s" % verdict["policy"] if verdict["policy"] in ("DROP", "REJECT") else None,
                                      "the rule %r" % verdict["terminal"] if verdict["terminal"] else None) if text]
            if what:
                found.append("iptables (%s, %s) INPUT has %s: it also drops what this plan admits"
                             % (variant, family, " and ".join(what)))
    return found
