# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whose rules are already in a node's firewall, kube-proxy's mode, and what on the node's input
hook drops by itself. Pure: takes text. Reading iptables' variants and listings is in
netfilter.py, which the backends share."""

from __future__ import annotations

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.catalog import NFT_TABLE_OWNERS, chain_owner
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.netfilter import is_terminal

# ---------------------------------------------------------------- what drops on the input hook


def iptables_input_verdict(tables):
    """One variant's filter table (parse_iptables_save) -> {"policy", "terminal"}: INPUT's policy
    and its first unconditional DROP/REJECT (None when there is none)."""
    table = (tables or {}).get("filter") or {}
    terminal = next((spec for spec in table.get("input", []) if is_terminal(spec)), None)
    return {"policy": (table.get("policies") or {}).get("INPUT", "ACCEPT"), "terminal": terminal}


# Statements that match every packet: a rule made only of these and a drop/reject drops them all.
_NEUTRAL = ("counter", "log")


def nft_input_chains(ruleset):
    """`nft -j list ruleset` (parsed) -> [{"table": "FAMILY NAME", "chain", "prio", "policy",
    "drops_all": bool}] for the base chains on the input hook. iptables-nft's own tables are
    left out (iptables_input_verdict reads them)."""
    chains, drops = {}, set()
    for item in (ruleset or {}).get("nftables", []):
        chain = item.get("chain")
        if chain and chain.get("hook") == "input" and chain.get("type", "filter") == "filter":
            key = (chain["family"], chain["table"], chain["name"])
            if chain["table"] == "filter" and chain["name"] == "INPUT" and chain["family"] in ("ip", "ip6"):
                continue        # iptables-nft's INPUT
            chains[key] = {"table": "%s %s" % key[:2], "chain": chain["name"], "prio": chain.get("prio"),
                           "policy": chain.get("policy", "accept"), "drops_all": False}
        rule = item.get("rule")
        if rule:
            expr = rule.get("expr") or []
            verdicts = [statement for statement in expr if not set(statement) <= set(_NEUTRAL)]
            if len(verdicts) == 1 and set(verdicts[0]) & {"drop", "reject"}:
                drops.add((rule["family"], rule["table"], rule["chain"]))
    for key in drops & set(chains):
        chains[key]["drops_all"] = True
    return [chains[key] for key in sorted(chains)]


# ---------------------------------------------------------------- whose rules are there


def foreign_chains(tables):
    """{owner: ["table/CHAIN", ...]} for every chain a known neighbour (or we) created."""
    owners = {}
    for table, content in sorted(tables.items()):
        for chain in content["chains"]:
            owner = chain_owner(chain)
            if owner:
                owners.setdefault(owner, []).append("%s/%s" % (table, chain))
    return owners


def nft_owners(tables):
    """[(family, name)] -> {owner: ["family name", ...]}."""
    owners = {}
    for family, name in tables:
        owner = NFT_TABLE_OWNERS.get(name)
        if owner:
            owners.setdefault(owner, []).append("%s %s" % (family, name))
    return owners


# kube-proxy: its mode decides where the cluster keeps its rules (iptables, nftables, ipvs)


def parse_nft_tables(text):
    """`nft list tables` -> [(family, name)]."""
    tables = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "table":
            tables.append((parts[1], parts[2]))
    return tables


def kube_proxy_mode(links, nft_tables, iptables_nat_chains, flag_mode=None):
    """(mode, source) or (None, None) when kube-proxy leaves no trace."""
    if flag_mode:
        return flag_mode, "kube-proxy --proxy-mode"
    if any(link["name"] == "kube-ipvs0" for link in links):
        return "ipvs", "device kube-ipvs0"
    if any(name == "kube-proxy" for _family, name in nft_tables):
        return "nftables", "nft table kube-proxy"
    if "KUBE-SERVICES" in iptables_nat_chains:
        return "iptables", "iptables nat chain KUBE-SERVICES"
    return None, None
