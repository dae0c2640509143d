# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A plan as a table a person reads: what is admitted, from where, and why."""

from __future__ import annotations

import textwrap

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
# Rows every node has (loopback, conntrack, ICMP errors, DHCPv6): a brief table says them in one line.
COMMON_PHASES = ("base", "essential")
# The narrowest "why" column a width bound may leave.
MIN_WHY_WIDTH = 40


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


def _rows_of(number, rule):
    proto, ports = _what(rule)
    sources = ",".join(rule["from"]) if rule["from"] else "any"
    if rule.get("to"):
        sources += " -> " + ",".join(rule["to"])
    if rule["families"] != ["ipv4", "ipv6"]:
        sources += " (%s)" % ("+".join(rule["families"]) if rule["families"] else "no address: inactive")
    reasons = _reasons(rule)
    rows = [[str(number), rule["phase"], ACTION_WORDS.get(rule["action"], rule["action"]),
             proto, ports, sources, reasons[0]]]
    return rows + [["", "", "", "", "", "", reason] for reason in reasons[1:]]


def plan_rows(plan, brief=False):
    """The table body: one list of cells per line (a rule with several reasons takes several lines).

    brief leaves out the rows of COMMON_PHASES (common_summary says them in one line)."""
    rows = []
    for number, rule in enumerate(plan["rules"], 1):
        if not (brief and rule["phase"] in COMMON_PHASES):
            rows += _rows_of(number, rule)
    return rows


def common_summary(plan):
    """One line for the rows every node has: their numbers and why they are there."""
    numbers, ids = [], []
    for number, rule in enumerate(plan["rules"], 1):
        if rule["phase"] in COMMON_PHASES:
            numbers.append(str(number))
            ids += [why["id"] for why in rule["why"] if why["id"] not in ids]
    if not numbers:
        return None
    return "  #%s %s: %s (the same on every node)" % (
        ",".join(numbers), "/".join(COMMON_PHASES), ", ".join(ids))


def _table(rows, width=None):
    """Align the columns. With a width, the last column (why) wraps inside its column when that
    leaves it MIN_WHY_WIDTH characters, else each row's reasons go on lines of their own under it."""
    widths = [max(len(row[index]) for row in rows) for index in range(len(rows[0]))]
    indent = 2 + sum(widths[:-1]) + 2 * (len(widths) - 1)
    below = bool(width) and width - indent < MIN_WHY_WIDTH
    lines = []
    for row in rows:
        cells = [cell.ljust(widths[index]) for index, cell in enumerate(row[:-1])]
        if below:
            if any(row[:-1]):
                lines.append("  " + "  ".join(cells).rstrip())
            if row is not rows[0]:
                lines += textwrap.wrap(row[-1], max(width, MIN_WHY_WIDTH), initial_indent="      ",
                                       subsequent_indent="        ", break_on_hyphens=False)
            continue
        wrapped = textwrap.wrap(row[-1], width - indent, break_on_hyphens=False) if width else [row[-1]]
        lines.append("  " + "  ".join(cells + wrapped[:1]).rstrip())
        lines += [" " * (indent + 2) + more for more in wrapped[1:]]
    return lines


def _header(plan):
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
    lines.append("  policy: mode=%s state=%s scope=%s" % (policy["mode"], policy["state"], policy["scope"]))
    return lines


def _set_lines(plan):
    lines = []
    for name, content in sorted(plan["sets"].items()):
        entries = content["ipv4"] + content["ipv6"]
        shown = ", ".join(entries[:SET_ENTRIES_SHOWN]) if entries else "(empty)"
        if len(entries) > SET_ENTRIES_SHOWN:
            shown += ", ... (%d in all)" % len(entries)
        lines.append((name, shown, content["why"]))
    return lines


def _findings(plan):
    """The notes, warnings, blacklist conflicts and what still blocks on the node, as (kind, text)."""
    found = []
    for title, key in (("note", "notes"), ("warning", "warnings")):
        for item in plan[key]:
            found.append((title, item if isinstance(item, str) else "%s: %s" % (item["id"], item["text"])))
    for conflict in plan["conflicts"]:
        found.append(("conflict", "%s (%s vs %s)" % (conflict["text"], ", ".join(conflict["blacklist"]),
                                                     ", ".join(conflict["whitelist"]))))
    for blocker in plan.get("blocked_by") or []:
        found.append(("STILL BLOCKED ON THE NODE", blocker))
    return found


def plan_table(plan, brief=False, width=None):
    """Render one node's plan as text lines joined by newlines.

    brief: the rows every node has in one line (common_summary); width: wrap the "why" column so
    that the table's lines stay within that many columns where the other columns allow it."""
    lines = _header(plan)
    if plan["passthrough"]:
        lines.append("  no rule configured: every packet passes (nothing is installed)")
    else:
        summary = common_summary(plan) if brief else None
        if summary:
            lines.append(summary)
    lines = _wrapped(lines, width)
    if not plan["passthrough"]:
        lines.extend(_table([list(COLUMNS)] + plan_rows(plan, brief), width))
        lines.append("  everything else: %s" % ACTION_WORDS.get(plan["default"], plan["default"]))
    tail = []
    if plan["sets"]:
        tail.append("  address sets:")
        tail += ["    %s = %s  (%s)" % entry for entry in _set_lines(plan)]
    tail += ["  %s: %s" % finding for finding in _findings(plan)]
    return "\n".join(lines + _wrapped(tail, width))


def _wrapped(lines, width):
    """Lines longer than width continue on lines indented 4 more than their own."""
    if not width:
        return lines
    out = []
    for line in lines:
        indent = " " * (len(line) - len(line.lstrip()))
        out += textwrap.wrap(line.lstrip(), max(width, MIN_WHY_WIDTH), initial_indent=indent, subsequent_indent=indent + "    ",
                             break_on_hyphens=False) or [line]
    return out


def _cell(text):
    return text.replace("|", "\\|")


def plan_markdown(plan):
    """One node's plan as a Markdown document: every row, every set entry, every finding."""
    lines = ["# %s" % plan["node"], ""] + ["- " + line.strip() for line in _header(plan)[1:]] + [""]
    if plan["passthrough"]:
        lines.append("No rule configured: every packet passes (nothing is installed).")
    else:
        lines += ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
        for row in plan_rows(plan):
            lines.append("| " + " | ".join(_cell(cell) for cell in row) + " |")
        lines += ["", "Everything else: **%s**." % ACTION_WORDS.get(plan["default"], plan["default"])]
    if plan["sets"]:
        lines += ["", "## Address sets", ""]
        for name, content in sorted(plan["sets"].items()):
            entries = content["ipv4"] + content["ipv6"]
            lines.append("- `%s` (%s): %s" % (name, content["why"], ", ".join(entries) or "(empty)"))
    findings = _findings(plan)
    if findings:
        lines += ["", "## Findings", ""] + ["- **%s**: %s" % finding for finding in findings]
    return "\n".join(lines) + "\n"


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
