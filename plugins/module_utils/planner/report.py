# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A plan as a table a person reads: what is admitted, from where, and why."""

from __future__ import annotations

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.inputs import NETWORKS

ACTION_WORDS = {
    "accept": "admit",
    "drop": "DROP",
    "alert": "log+pass",
    "monitor": "count",
    "return": "pass",
    "count": "count, go on",
    "log": "log, go on",
}
MATCH_WORDS = {
    "loopback": "loopback interface",
    "established": "ct established,related",
    "dnat": "ct status dnat",
    "dhcpv6_client": "udp 547 -> 546 from fe80::/10",
}
COLUMNS = ("#", "phase", "action", "proto", "ports", "from [-> to]", "why")
# A set of a large fleet holds thousands of addresses: the table shows the first few (the whole
# plan is written by microseg_plan_dir).
SET_ENTRIES_SHOWN = 8


def _what(rule):
    if rule.get("match") == "dnat" and rule["ports"]:
        return rule["proto"], "ct dnat'ed from " + ",".join(rule["ports"])
    if rule.get("match"):
        return "-", MATCH_WORDS.get(rule["match"], rule["match"])
    ports = ",".join(rule["ports"]) if rule["ports"] else "-"
    if rule["icmp_types"]:
        ports = "type " + ",".join(str(number) for number in rule["icmp_types"])
    return rule["proto"] or "all", ports


def _reasons(rule):
    lines = []
    for why in rule["why"]:
        text = "%s: %s" % (why["id"], why["text"])
        if why.get("port"):
            text += " [port %s]" % why["port"]
        lines.append(text)
    return lines or ["-"]


def plan_rows(plan):
    """The table body: one list of cells per line (a rule with several reasons takes several lines)."""
    rows = []
    for number, rule in enumerate(plan["rules"], 1):
        proto, ports = _what(rule)
        sources = ",".join(rule["from"]) if rule["from"] else "any"
        if rule.get("to"):
            sources += " -> " + ",".join(rule["to"])
        if rule["families"] != ["ipv4", "ipv6"]:
            sources += " (%s)" % ("+".join(rule["families"]) if rule["families"] else "no address: inactive")
        reasons = _reasons(rule)
        rows.append([str(number), rule["phase"], ACTION_WORDS.get(rule["action"], rule["action"]),
                     proto, ports, sources, reasons[0]])
        for reason in reasons[1:]:
            rows.append(["", "", "", "", "", "", reason])
    return rows


def _table(rows):
    widths = [max(len(row[index]) for row in rows) for index in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [cell.ljust(widths[index]) for index, cell in enumerate(row[:-1])] + [row[-1]]
        lines.append("  " + "  ".join(cells).rstrip())
    return lines


def plan_table(plan):
    """Render one node's plan as text lines joined by newlines."""
    policy = plan["policy"]
    lines = [
        "%s  roles: %s" % (plan["node"], ", ".join(plan["roles"]) or "none"),
        "  addresses: %s (from %s)" % (", ".join(plan.get("addresses") or []) or "none known",
                                       plan.get("address_origin") or "the inventory"),
        "  features: %s" % (", ".join(plan["features"]) or "none"),
    ]
    for known in NETWORKS:
        network = (plan.get("networks") or {}).get(known.key)
        # A node-local network nobody shows is simply not there (no NodeLocal DNSCache).
        if network and (network["cidrs"] or known.cluster):
            cidrs = ", ".join(network["cidrs"]) or "unknown"
            lines.append("  %s: %s (from %s)" % (known.label, cidrs, network["origin"]))
    lines += [
        "  policy: mode=%s state=%s scope=%s" % (policy["mode"], policy["state"], policy["scope"]),
    ]
    if plan["passthrough"]:
        lines.append("  no rule configured: every packet passes (nothing is installed)")
    else:
        lines.extend(_table([list(COLUMNS)] + plan_rows(plan)))
        lines.append("  everything else: %s" % ACTION_WORDS.get(plan["default"], plan["default"]))
    if plan["sets"]:
        lines.append("  address sets:")
        for name, content in sorted(plan["sets"].items()):
            entries = content["ipv4"] + content["ipv6"]
            shown = ", ".join(entries[:SET_ENTRIES_SHOWN]) if entries else "(empty)"
            if len(entries) > SET_ENTRIES_SHOWN:
                shown += ", ... (%d in all)" % len(entries)
            lines.append("    %s = %s  (%s)" % (name, shown, content["why"]))
    for title, key in (("notes", "notes"), ("warnings", "warnings")):
        for item in plan[key]:
            text = item if isinstance(item, str) else "%s: %s" % (item["id"], item["text"])
            lines.append("  %s: %s" % (title[:-1], text))
    for conflict in plan["conflicts"]:
        lines.append("  conflict: %s (%s vs %s)" % (conflict["text"], ", ".join(conflict["blacklist"]),
                                                    ", ".join(conflict["whitelist"])))
    for blocker in plan.get("blocked_by") or []:
        lines.append("  STILL BLOCKED ON THE NODE: %s" % blocker)
    return "\n".join(lines)


def plan_summary(plan):
    """One line for a node's plan, for fleets too large to print every table."""
    if plan["passthrough"]:
        verdict = "no rule configured: every packet passes"
    else:
        verdict = "%d rules, everything else: %s" % (len(plan["rules"]), ACTION_WORDS.get(plan["default"], plan["default"]))
    blocked = "  STILL BLOCKED ON THE NODE by %d" % len(plan["blocked_by"]) if plan.get("blocked_by") else ""
    return "%s  roles: %s  mode=%s state=%s  %s  warnings: %d  conflicts: %d%s" % (
        plan["node"], ",".join(plan["roles"]) or "none", plan["policy"]["mode"], plan["policy"]["state"], verdict,
        len(plan["warnings"]), len(plan["conflicts"]), blocked)


def catalog_markdown(entries):
    """The port catalog as the Markdown table the README shows (a test keeps them equal)."""
    lines = ["| feature | proto | default port | port setting | from | why |",
             "|---|---|---|---|---|---|"]
    for entry in entries:
        lines.append("| `%s` | %s | %s | %s | %s | %s |" % (
            entry.feature,
            entry.proto or "-",
            entry.port if entry.port is not None else "-",
            "`%s`" % entry.port_key if entry.port_key else "-",
            ", ".join(entry.peers) + (" -> %s" % entry.to if entry.to else "") or "-",
            entry.why.replace("|", "/"),
        ))
    return "\n".join(lines)
