# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What on a node would still drop, after our rules, what the plan admits: from the node's
firewall facts, for each backend the user may choose. The planner's, because it depends on the
backend chosen for the node (profile.choose_backend); the facts only say what is there."""

from __future__ import annotations

OUR_NFT_TABLE = "inet microseg"
FIREWALLD_NFT_TABLE = "inet firewalld"
FIREWALLD_BLOCKS = ("firewalld is running: its zones reject what they do not allow, whatever this plan admits; use "
                    "microseg_backend: firewalld (auto chooses it), which opens the plan in firewalld, or stop and "
                    "disable firewalld")


def input_blockers(facts, backend):
    """What on the node still drops, after our rules, packets the plan admits, for one of our
    backends -> [text]. facts: firewall_facts. With the iptables backend our jump sits in the
    variant's INPUT ahead of its terminal rule (not a blocker); every other INPUT hook that drops
    by policy or by an unconditional rule is one (in netfilter an accept is final only for its own
    chain: each base chain on the hook must accept)."""
    facts = facts or {}
    found = []
    firewalld = facts.get("firewalld") or {}
    if firewalld.get("active") and backend != "firewalld":
        found.append(FIREWALLD_BLOCKS)
    # the tables the backend drives: its own, and with the firewalld backend firewalld's (our policy opens the plan there)
    driven = {"nftables": (OUR_NFT_TABLE,), "firewalld": (OUR_NFT_TABLE, FIREWALLD_NFT_TABLE)}.get(backend, ())
    for chain in (facts.get("nftables") or {}).get("input_chains") or []:
        if chain["table"] in driven:
            continue
        if chain["policy"] == "drop" or chain["drops_all"]:
            how = "policy drop" if chain["policy"] == "drop" else "a rule that drops every packet"
            found.append("nft table %s chain %s (input hook, priority %s) has %s: it also drops what this plan admits"
                         % (chain["table"], chain["chain"], chain["prio"], how))
    iptables = facts.get("iptables") or {}
    # our jump (iptables backend) or our firewalld direct rules (firewalld on its iptables
    # backend, in INPUT_direct) run in that variant's INPUT ahead of its terminal rule
    firewalld_iptables = backend == "firewalld" and firewalld.get("active") and firewalld.get("backend") == "iptables"
    for variant, families in sorted((iptables.get("input") or {}).items()):
        if (backend == "iptables" or firewalld_iptables) and variant == iptables.get("variant"):
            continue
        for family, verdict in sorted(families.items()):
            what = [text for text in ("policy %s" % verdict["policy"] if verdict["policy"] in ("DROP", "REJECT") else None,
                                      "the rule %r" % verdict["terminal"] if verdict["terminal"] else None) if text]
            if what:
                found.append("iptables (%s, %s) INPUT has %s: it also drops what this plan admits"
                             % (variant, family, " and ".join(what)))
    return found
