# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where the plan's lists meet: a blacklist entry that overrides the whitelist, the management
path or the essential ICMP types (which come first), and a user entry's 'from' that a catalog row
open to any source makes void. Said in the plan, never silently resolved."""

from __future__ import annotations

from ansible_collections.microseg.cluster_firewall.plugins.module_utils import catalog
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.inputs import ANY
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.ports import format_ports, ranges_overlap


def _overlap(black, white, sets):
    """True when a blacklist flow and a whitelist flow can match the same packet."""
    if black["proto"] != "all" and white["proto"] != "all" and black["proto"] != white["proto"]:
        return False
    if black["ports"] is not None and white["ports"] is not None and not ranges_overlap(black["ports"], white["ports"]):
        return False
    if black["sources"] == ANY or white["sources"] == ANY:
        return True
    if sets is None:
        return False
    return sets.overlap(black["sources"], white["sources"])


def _describe(flow):
    ports = ",".join(format_ports(flow["ports"])) if flow["ports"] else "(every port)"
    sources = "any source" if flow["sources"] == ANY else "set(s) " + ", ".join(flow["sources"])
    return "%s %s from %s" % (flow["proto"], ports, sources)


def _essential_icmp_overlap(black):
    """The families in which a blacklist entry of ICMP (proto icmp or icmpv6) meets the essential
    ICMP types admitted ahead of it."""
    if black["proto"] not in ("icmp", "icmpv6"):
        return []
    return sorted(black["families"] & {"icmp": {"ipv4"}, "icmpv6": {"ipv6"}}[black["proto"]])


def find_conflicts(blacklist, whitelist, management, sets):
    """Every whitelist flow a blacklist flow overrides, every blacklisted source that keeps the
    management SSH path (which comes first) and every ICMP blacklist entry that the essential
    ICMP types (which come first too) get past, with both entries named; each once."""
    conflicts = []
    for black in blacklist:
        for family in _essential_icmp_overlap(black):
            types = catalog.ICMP_ESSENTIAL[family]
            conflicts.append({
                "blacklist": [why["id"] for why in black["why"]],
                "whitelist": ["icmp_essential"],
                "text": "essential ICMP comes first: %s does not drop the %s types %s (errors for path MTU discovery%s), "
                        "which are admitted ahead of the blacklist; every other %s type is dropped"
                        % (_describe(black), black["proto"], ",".join(str(kind) for kind in types),
                           ", neighbour discovery and MLD" if family == "ipv6" else "", black["proto"]),
            })
        for white in whitelist:
            if _overlap(black, white, sets):
                conflicts.append({
                    "blacklist": [why["id"] for why in black["why"]],
                    "whitelist": [why["id"] for why in white["why"]],
                    "text": "the blacklist wins: %s overlaps the admitted %s" % (_describe(black), _describe(white)),
                })
        black_families = black["families"]
        if black["sources"] != ANY and sets is not None:
            black_families = black_families & sets.families(black["sources"])
        for path in management:
            if not _overlap(black, path, sets) or not black_families & path["families"]:
                continue
            if path["action"] == "return":     # the fallback of a family without management sources
                text = ("the management path comes first: %s overlaps SSH from any %s source (%s), which this plan "
                        "passes on to the host's own firewall: the blacklist does not drop it there; add a "
                        "management CIDR of that family" % (_describe(black), "/".join(sorted(path["families"])),
                                                            _describe(path)))
            else:
                text = ("the management path comes first: %s overlaps the management SSH path (%s), so those "
                        "sources keep SSH; take them out of microseg_management_cidrs or the blacklist"
                        % (_describe(black), _describe(path)))
            conflicts.append({
                "blacklist": [why["id"] for why in black["why"]],
                "whitelist": [why["id"] for why in path["why"]],
                "text": text,
            })
    unique = []
    for conflict in conflicts:
        if conflict not in unique:
            unique.append(conflict)
    return unique


# Catalog rows that admit any source, and how to narrow them.
NARROWING = {
    "k8s_apiserver": "restrict it with microseg_apiserver_from",
    "k8s_nodeport_tcp": "set microseg_nodeport: false to admit NodePorts only from your own entries",
    "k8s_nodeport_udp": "set microseg_nodeport: false to admit NodePorts only from your own entries",
}


def find_overridden(catalog_flows_, user_whitelist, scope):
    """User whitelist entries with a 'from' on a port a catalog row admits from any source: the
    'from' narrows nothing there (either mode). One warning per entry and row."""
    warnings = []
    for user in user_whitelist:
        if user["sources"] == ANY:
            continue
        for row in catalog_flows_:
            if row["sources"] != ANY or row["destinations"] or not _overlap(row, user, None):
                continue
            row_id = row["why"][0]["id"]
            hint = NARROWING.get(row_id) or ("microseg_scope is port: the cluster's flows are open to any source"
                                             if scope == "port" else "that row is open to all sources by design")
            warnings.append("%s: %s is admitted from any source by %s, so this entry's 'from' restricts nothing "
                            "there; %s" % (user["why"][0]["id"], _describe(user), row_id, hint))
    return warnings
