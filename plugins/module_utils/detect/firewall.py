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
    """iptables-save output -> {table: {"chains": [...], "policies": {...}, "rules": N, "input": [INPUT rule specs]}}."""
    tables = {}
    current = None
    for line in (text or "").splitlines():
        if line.startswith("*"):
            current = tables.setdefault(line[1:].strip(), {"chains": [], "policies": {}, "rules": 0, "input": []})
        elif current is None:
            continue
        elif line.startswith(":"):
            parts = line[1:].split()
            current["chains"].append(parts[0])
            if len(parts) > 1 and parts[1] != "-":
                current["policies"][parts[0]] = parts[1]
        elif line.startswith("-A "):
            current["rules"] += 1
            if line.startswith("-A INPUT "):
                current["input"].append(line[len("-A INPUT "):])
    return tables


# ---------------------------------------------------------------- what still blocks the plan

# A rule that ends INPUT for every packet: nothing after it sees one (EL's iptables-services ends
# INPUT with `-j REJECT --reject-with icmp-host-prohibited`). The boot restore script has the same
# pattern in grep -E form.
_TERMINAL_SPEC = re.compile(r'^(?:-m comment --comment (?:"[^"]*"|\S+) )?-j (?:REJECT|DROP)(?: --reject-with \S+)?$')


def is_terminal(spec):
    """True for an unconditional DROP or REJECT rule spec (a comment may go with it)."""
    return bool(_TERMINAL_SPEC.match(spec.strip()))


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


OUR_NFT_TABLE = "inet microseg"
FIREWALLD_NFT_TABLE = "inet firewalld"
FIREWALLD_BLOCKS = ("firewalld is running: its zones reject what they do not allow, whatever this plan admits; use "
                    "microseg_backend: firewalld (auto chooses it), which opens the plan in firewalld, or stop and "
                    "disable firewalld")


def firewalld_backend(conf_text):
    """firewalld's FirewallBackend (firewalld.conf); nftables when unset (firewalld >= 0.6)."""
    for line in (conf_text or "").splitlines():
        line = line.strip()
        if line.startswith("FirewallBackend="):
            return line.split("=", 1)[1].strip().strip('"') or "nftables"
    return "nftables"


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
