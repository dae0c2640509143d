# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What detection and the backends both read of a node's packet filter: iptables' version and
variant, iptables-save's listing, the rules that end INPUT, and which netfilter interface
firewalld drives. Pure: takes text. Shared because the fact modules (detect/, gather/) report
them and the backends choose and place their rules by them, and neither may import the other.

Never mix iptables variants on one host: the one that already holds the rules of kube-proxy,
calico or Docker is the one to use (choose_variant).
"""

from __future__ import annotations

import re

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


# A rule that ends INPUT for every packet: nothing after it sees one (EL's iptables-services ends
# INPUT with `-j REJECT --reject-with icmp-host-prohibited`). The boot restore script has the same
# pattern in grep -E form.
_TERMINAL_SPEC = re.compile(r'^(?:-m comment --comment (?:"[^"]*"|\S+) )?-j (?:REJECT|DROP)(?: --reject-with \S+)?$')


def is_terminal(spec):
    """True for an unconditional DROP or REJECT rule spec (a comment may go with it)."""
    return bool(_TERMINAL_SPEC.match(spec.strip()))


def firewalld_backend(conf_text):
    """firewalld's FirewallBackend (firewalld.conf); nftables when unset (firewalld >= 0.6)."""
    for line in (conf_text or "").splitlines():
        line = line.strip()
        if line.startswith("FirewallBackend="):
            return line.split("=", 1)[1].strip().strip('"') or "nftables"
    return "nftables"
