# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which firewall backend a node uses and whose rules are already in it. Pure: takes text.

Never mix iptables variants on one host: the one that already holds the rules of
kube-proxy, calico or Docker is the one to use.
"""

from __future__ import annotations

import re

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.catalog import NFT_TABLE_OWNERS, chain_owner

_VERSION = re.compile(r"iptables v(\S+)(?:\s+\((\S+)\))?")


def parse_iptables_version(text):
    """`iptables --version` -> {"version", "variant": "legacy" | "nf_tables"}; old builds say nothing: legacy."""
    match = _VERSION.search(text or "")
    if not match:
        return {"version": None, "variant": None}
    return {"version": match.group(1), "variant": match.group(2) or "legacy"}


def parse_iptables_save(text):
    """iptables-save output -> {table: {"chains": [...], "policies": {...}, "rules": N}}."""
    tables = {}
    current = None
    for line in (text or "").splitlines():
        if line.startswith("*"):
            current = tables.setdefault(line[1:].strip(), {"chains": [], "policies": {}, "rules": 0})
        elif current is None:
            continue
        elif line.startswith(":"):
            parts = line[1:].split()
            current["chains"].append(parts[0])
            if len(parts) > 1 and parts[1] != "-":
                current["policies"][parts[0]] = parts[1]
        elif line.startswith("-A "):
            current["rules"] += 1
    return tables


def foreign_chains(tables):
    """{owner: ["table/CHAIN", ...]} for every chain a known neighbour (or we) created."""
    owners = {}
    for table, content in sorted(tables.items()):
        for chain in content["chains"]:
            owner = chain_owner(chain)
            if owner:
                owners.setdefault(owner, []).append("%s/%s" % (table, chain))
    return owners


def rule_count(tables):
    return sum(content["rules"] for content in tables.values())


def choose_variant(default_variant, legacy_rules, nft_rules):
    """(variant, reason). The variant holding rules wins; both holding rules is reported."""
    if legacy_rules and not nft_rules:
        return "legacy", "only iptables-legacy holds rules (%d)" % legacy_rules
    if nft_rules and not legacy_rules:
        return "nf_tables", "only iptables-nft holds rules (%d)" % nft_rules
    if legacy_rules and nft_rules:
        return default_variant, ("both variants hold rules (legacy %d, nft %d): keeping the default "
                                 "'iptables' (%s); mixing them breaks rule ordering" % (legacy_rules, nft_rules, default_variant))
    return default_variant, "no rules yet: the default 'iptables' (%s)" % default_variant


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
