# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which firewall backend a node uses and whose rules are already in it. Pure: takes text.

Never mix iptables variants on one host: the one that already holds the rules of
kube-proxy, calico or Docker is the one to use.
"""

from __future__ import annotations

import re

# Chain-name prefixes of the neighbours whose rules we must leave alone.
CHAIN_OWNERS = (
    ("KUBE-", "kubernetes"),
    ("cali-", "calico"),
    ("DOCKER", "docker"),
    ("FLANNEL", "flannel"),
    ("CILIUM_", "cilium"),
    ("WEAVE", "weave"),
    ("MICROSEG", "microseg"),
)
NFT_TABLE_OWNERS = {"kube-proxy": "kubernetes", "calico": "calico", "cilium": "cilium", "firewalld": "firewalld",
                    "microseg": "microseg"}

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


def chain_owner(name):
    for prefix, owner in CHAIN_OWNERS:
        if name.startswith(prefix):
            return owner
    return None


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


def choose_backend(firewall, kube_proxy_mode=None):
    """(backend, reason) for microseg_backend: auto, from firewall_facts (and kube-proxy's mode).

    Go where the neighbours are: iptables when iptables already holds rules (kube-proxy in
    iptables mode, Docker); nftables when kube-proxy runs in nftables mode or there is no iptables."""
    if not firewall:
        return "iptables", "no firewall facts: the default"
    iptables = firewall.get("iptables") or {}
    nft = firewall.get("nftables") or {}
    held = (iptables.get("legacy_rules") or 0) + (iptables.get("nft_rules") or 0)
    if iptables.get("present") and held:
        return "iptables", "iptables already holds %d rules (kube-proxy, Docker, CNI)" % held
    if nft.get("present") and kube_proxy_mode == "nftables":
        return "nftables", "kube-proxy runs in nftables mode"
    if nft.get("present") and not iptables.get("present"):
        return "nftables", "nft is there, iptables is not"
    if iptables.get("present"):
        return "iptables", "iptables is there and holds no rules yet"
    return "nftables" if nft.get("present") else "iptables", "neither holds rules"
