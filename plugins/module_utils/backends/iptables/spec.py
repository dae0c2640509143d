# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The iptables backend as the controller sees it (backends/spec.py): its files, packages, when
auto chooses it and what else on a node drops what the plan admits. Pure; the node half is host.py."""

from __future__ import annotations

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends import blockers as common
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.iptables import render
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.spec import Spec, firewall_of, iptables_rules, present


def render_files(plan):
    return {"ipsets": render.ipsets_file(plan), "ipv4.rules": render.ruleset_file(plan, "ipv4"),
            "ipv6.rules": render.ruleset_file(plan, "ipv6")}


def holds_rules(evidence):
    facts = firewall_of(evidence)
    rules = iptables_rules(facts)
    if present(facts, "iptables") and rules:
        return "iptables already holds %d rules (kube-proxy, Docker, CNI)" % rules
    return None


def there(evidence):
    return "iptables is there and holds no rules yet" if present(firewall_of(evidence), "iptables") else None


def blockers(facts):
    """Our jump sits in the variant's INPUT ahead of its terminal rule: that INPUT is not a blocker."""
    return common.input_blockers(facts, in_iptables_input=True)


def notes(node_name, facts):
    """ufw and our backends (this one's and the nftables backend's way with it, in one note)."""
    if ((facts or {}).get("ufw") or {}).get("active"):
        return ["%s: ufw is active: with the iptables backend our jump goes ahead of ufw's chains in INPUT, so "
                "the plan decides first and ufw decides what the plan leaves (service mode, monitor, alert); "
                "with the nftables backend ufw's default deny also drops what the plan admits" % node_name]
    return []


SPEC = Spec(
    name="iptables",
    files=("ipsets", "ipv4.rules", "ipv6.rules"),
    kept=("ipsets", "ipv4.rules", "ipv6.rules"),
    packages={"ipset": "ipset", "iptables-restore": "iptables", "ip6tables-restore": "iptables"},
    render=render_files,
    # the last: whatever the facts say, when no other backend suits the node
    choices=((20, holds_rules), (40, there), (90, lambda evidence: "neither holds rules")),
    blockers=blockers,
    removes="our jump, our chain, our ipsets, and with iptables-nft a filter table that held nothing but our chain",
    notes=notes,
)
