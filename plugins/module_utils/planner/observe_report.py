# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""observe.yml's files from the fleet's observation (planner/observe.py): report.md, a
self-contained report.html (no script, no external asset) and suggested-whitelist.yml."""

from __future__ import annotations

import json
import time
from html import escape

TITLE = "microseg.cluster_firewall: what the plan did not admit"
SCAN_PORTS = 32               # more distinct ports than this from the same sources looks like a scan
SCAN_WARNING = "; MANY PORTS: a scan? admit it only if you mean it"
# What a person can read: the most hit flows and sources; observed.json keeps them all.
LISTED_FLOWS = 200
MATRIX_FLOWS = 30
MATRIX_SOURCES = 60


def when(stamp):
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(int(stamp)))


def what(flow):
    """'tcp 8080', 'udp 1-100' (a suggestion's joined ports), 'icmp type 8 code 0', 'gre'."""
    if flow.get("icmp_type") is not None:
        return "%s type %d code %d" % (flow["proto"], flow["icmp_type"], flow["icmp_code"])
    if flow.get("port") is not None:
        return "%s %s" % (flow["proto"], flow["port"])
    return flow["proto"]


def source_text(source):
    if source["host"]:
        return "%s (%s%s)" % (source["address"], source["host"], ", " + ", ".join(source["groups"]) if source["groups"] else "")
    return "%s (outside the inventory)" % source["address"]


def summary_lines(observed):
    """One line per node, for the play's output."""
    lines = []
    for node, data in sorted(observed["nodes"].items()):
        flows = [flow for flow in observed["flows"] if flow["destination"] == node]
        lines.append("%s: %s, %d records, %d flows not admitted (%d packets), %d of %d rules never hit"
                     % (node, data["backend"] or "no rules of ours", len(data["records"]), len(flows),
                        sum(flow["packets"] for flow in flows), len(data["unused_rules"]), len(data["rule_hits"])))
    return lines


def markdown(observed, suggested):
    lines = ["# %s" % TITLE, "", "Generated %s. Each row is a flow the node's plan did not admit: what `block` "
             "drops, `alert` logs and `monitor` counts. Most packets first." % when(observed["generated"]), ""]
    lines += ["## Flows not admitted", "", "| destination | flow | packets | sources | first seen | last seen |",
              "|---|---|---|---|---|---|"]
    for flow in observed["flows"][:LISTED_FLOWS]:
        lines.append("| %s | %s | %d | %s | %s | %s |" % (flow["destination"], what(flow), flow["packets"],
                                                          "; ".join(source_text(source) for source in flow["sources"]),
                                                          when(flow["first_seen"]), when(flow["last_seen"])))
    if not observed["flows"]:
        lines.append("| | none recorded | | | | |")
    if len(observed["flows"]) > LISTED_FLOWS:
        lines += ["", "And %d more flows with fewer packets: see observed.json." % (len(observed["flows"]) - LISTED_FLOWS)]
    lines += ["", "## Planned rules no packet hit", ""]
    for node, data in sorted(observed["nodes"].items()):
        lines.append("- **%s** (%s): %s" % (node, data["backend"] or "no rules of ours",
                                            ", ".join("`%s`" % rule for rule in data["unused_rules"]) or "none"))
    lines += ["", "## Suggested whitelist", "", "Written to `suggested-whitelist.yml`: review each entry before "
              "you block.", ""]
    for node, entries in sorted(suggested.items()):
        for entry in entries:
            lines.append("- **%s**: %s from %s (%d packets)%s%s" % (
                node, what(entry), ", ".join(entry["from"]), entry["packets"],
                "; blacklisted, left out: %s" % ", ".join(entry["left_out"]) if entry["left_out"] else "",
                SCAN_WARNING if entry.get("ports", 1) > SCAN_PORTS else ""))
    if not suggested:
        lines.append("Nothing to add.")
    return "\n".join(lines) + "\n"


STYLE = """body{font-family:sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin-bottom:2em}th,td{border:1px solid #bbb;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eee}td.hits{text-align:right;font-weight:bold}.hot{background:#f8d0c8}.warm{background:#fbe8c8}
.none{color:#888}"""


def html(observed, suggested):
    """A matrix of who tried to reach what (sources down, destination flows across), then the
    flow list, the rules never hit and the suggestions."""
    columns = observed["flows"][:MATRIX_FLOWS]
    packets = {}
    for flow in columns:
        for source in flow["sources"]:
            key = (source["address"], source["host"] or "")
            packets[key] = packets.get(key, 0) + source["packets"]
    sources = sorted(packets, key=lambda key: (-packets[key], key))[:MATRIX_SOURCES]
    top = max([flow["packets"] for flow in columns] or [1])
    out = ["<!DOCTYPE html>", "<html lang=\"en\"><head><meta charset=\"utf-8\"><title>%s</title><style>%s</style>"
           "</head><body>" % (escape(TITLE), STYLE), "<h1>%s</h1>" % escape(TITLE),
           "<p>Generated %s. Flows the nodes' plans did not admit: what <code>block</code> drops, <code>alert</code> "
           "logs and <code>monitor</code> counts. Most packets first.</p>" % escape(when(observed["generated"]))]
    out.append("<h2>Who tried to reach what (packets)</h2>")
    if columns:
        out.append("<table><tr><th>source</th>%s</tr>" % "".join(
            "<th>%s<br>%s</th>" % (escape(flow["destination"]), escape(what(flow))) for flow in columns))
        for address, host in sources:
            cells = []
            for flow in columns:
                count = sum(source["packets"] for source in flow["sources"] if source["address"] == address)
                css = "hot" if count and count * 2 >= top else "warm" if count else ""
                cells.append("<td class=\"hits %s\">%s</td>" % (css, count or ""))
            out.append("<tr><th>%s<br>%s</th>%s</tr>" % (escape(address), escape(host or "outside the inventory"),
                                                         "".join(cells)))
        out.append("</table>")
        if len(observed["flows"]) > len(columns) or len(packets) > len(sources):
            out.append("<p>The %d most hit flows and their %d most active sources; observed.json has all %d flows.</p>"
                       % (len(columns), len(sources), len(observed["flows"])))
    else:
        out.append("<p class=\"none\">No flow was recorded.</p>")
    out.append("<h2>Planned rules no packet hit</h2><table><tr><th>node</th><th>backend</th><th>rules</th></tr>")
    for node, data in sorted(observed["nodes"].items()):
        out.append("<tr><td>%s</td><td>%s</td><td>%s</td></tr>" % (
            escape(node), escape(data["backend"] or "no rules of ours"),
            escape(", ".join(data["unused_rules"]) or "none")))
    out.append("</table><h2>Suggested whitelist</h2><table><tr><th>node</th><th>flow</th><th>from</th>"
               "<th>packets</th><th>first seen</th><th>last seen</th></tr>")
    for node, entries in sorted(suggested.items()):
        for entry in entries:
            out.append("<tr><td>%s</td><td>%s</td><td>%s</td><td class=\"hits\">%d</td><td>%s</td><td>%s</td></tr>" % (
                escape(node), escape(what(entry)), escape(", ".join(entry["from"])), entry["packets"],
                escape(when(entry["first_seen"])), escape(when(entry["last_seen"]))))
    out.append("</table></body></html>")
    return "\n".join(out) + "\n"


def whitelist_item(entry, generated):
    item = {}
    if entry["port"] is not None:
        item["port"] = entry["port"]
    item["proto"] = entry["proto"]
    item["from"] = entry["from"]
    item["comment"] = "observed %s" % time.strftime("%Y-%m-%d", time.gmtime(int(generated)))
    return item


def suggested_yaml(observed, suggested, current):
    """An inventory source: for each host with something to add, its microseg_whitelist as it is
    (current: {host: list}) followed by the new entries, each commented with its evidence."""
    lines = ["# Suggested by microseg.cluster_firewall's observe.yml, %s: the flows the nodes' plans did not admit."
             % when(observed["generated"]),
             "# Review every entry, then use this file as a second inventory source (its host variables",
             "# win over group_vars), or copy the new entries to your group_vars/host_vars:",
             "#   ansible-playbook -i INVENTORY -i observe/suggested-whitelist.yml playbooks/site.yml -e microseg_state=block",
             "# Each host's list is its current microseg_whitelist followed by the new entries.",
             "all:", "  hosts:" + ("" if suggested else " {}")]
    for node, entries in sorted(suggested.items()):
        lines += ["    %s:" % json.dumps(node), "      microseg_whitelist:"]
        existing = current.get(node) or []
        if existing:
            lines.append("        # already in microseg_whitelist")
        lines += ["        - %s" % json.dumps(item, sort_keys=True) for item in existing]
        for entry in entries:
            lines.append("        # %s: %d packets from %s; first seen %s, last seen %s%s%s" % (
                what(entry), entry["packets"], ", ".join(entry["seen_from"]), when(entry["first_seen"]),
                when(entry["last_seen"]), "; blacklisted, left out: %s" % ", ".join(entry["left_out"])
                if entry["left_out"] else "", SCAN_WARNING if entry.get("ports", 1) > SCAN_PORTS else ""))
            lines.append("        - %s" % json.dumps(whitelist_item(entry, observed["generated"])))
    return "\n".join(lines) + "\n"
