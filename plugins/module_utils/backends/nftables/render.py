# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""nftables backend, pure part: a plan -> our own table `inet microseg`; the live listing ->
the same normalised form; the transaction that replaces or removes it. No command is run here.

Everything we own is the table `inet microseg`. In nftables every base chain sees the packet:
an accept in kube-proxy's or Docker's table does not stop a drop in ours, so our chain admits
the Kubernetes/CNI flows itself (the plan holds them, with established/related and DNAT'ed
traffic); a drop anywhere is final. Our chain hooks input at priority filter + 10.
"""

from __future__ import annotations

import re

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.comments import (
    NFT_MAX,
    clean,
    fit,
    rule_comment,
)
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends import observe
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.protocols import number_of
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.catalog import DHCPV6_CLIENT
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.ports import ports_from_strings

TABLE = "microseg"
FAMILY = "inet"
CHAIN = "input"
PRIORITY = "filter + 10"
SET_SUFFIX = {"ipv4": "_v4", "ipv6": "_v6"}
NFT_FAMILY = {"ipv4": "ip", "ipv6": "ip6"}
SET_TYPE = {"ipv4": "ipv4_addr", "ipv6": "ipv6_addr"}
ICMP_NAMES = {
    "icmp": {3: "destination-unreachable", 8: "echo-request", 11: "time-exceeded", 12: "parameter-problem"},
    "icmpv6": {1: "destination-unreachable", 2: "packet-too-big", 3: "time-exceeded", 4: "parameter-problem",
               128: "echo-request", 130: "mld-listener-query", 131: "mld-listener-report", 132: "mld-listener-done",
               133: "nd-router-solicit", 134: "nd-router-advert", 135: "nd-neighbor-solicit",
               136: "nd-neighbor-advert", 143: "mld2-listener-report"},
}
LOG_PREFIX = {"blacklist": "microseg blacklist: ", "guard": "microseg alert: ", "default": "microseg alert: ",
              "essential": "microseg alert: "}
NUMBERED = {"gre": "47", "ipip": "4", "icmpv6": "58", "vrrp": "112"}


def set_name(name, family):
    return name + SET_SUFFIX[family]


def _ports(ranges):
    items = [str(low) if low == high else "%d-%d" % (low, high) for low, high in ranges]
    return items[0] if len(items) == 1 else "{ %s }" % ", ".join(items)


def _protocol(rule):
    """The protocol part of a rule (without family): 'tcp dport 22', 'meta l4proto esp', ''."""
    proto = rule["proto"]
    if rule["icmp_types"]:
        names = [ICMP_NAMES[proto].get(kind, str(kind)) for kind in rule["icmp_types"]]
        return "%s type %s" % (proto, names[0] if len(names) == 1 else "{ %s }" % ", ".join(names))
    if rule["ports"]:
        return "%s dport %s" % (proto, _ports(ports_from_strings(rule["ports"])))
    if proto in (None, "all"):
        return ""
    return "meta l4proto %s" % (NUMBERED.get(proto) or proto)


def _address_match(family, direction, name):
    """'ip saddr @pod_network_v4' (direction saddr/daddr); '' without a set."""
    if name is None:
        return ""
    return "%s %s @%s" % (NFT_FAMILY[family], direction, set_name(name, family))


def _dnat_heads(rule):
    """ct status dnat; with ports, one head per range of the connection's port before the DNAT."""
    if not rule["ports"]:
        return ["ct status dnat"]
    return ["meta l4proto %s ct status dnat ct original proto-dst %s" % (rule["proto"], text)
            for text in rule["ports"]]


def _statements(action, phase):
    """Action -> the endings of one or two rules (an alert logs, rate limited, then returns)."""
    if action == "count":                # a blacklist that watches: count, and go on
        return ["counter"]
    if action == "log":
        return ['limit rate 5/minute log prefix "%s"' % LOG_PREFIX[phase]]
    if action == "accept":               # every verdict counts: observe.yml reports the rules never hit
        return ["counter accept"]
    if action == "drop":
        return ["counter drop"]
    if action == "monitor":
        return ["counter return"]
    if action == "alert":
        return ['limit rate 5/minute log prefix "%s"' % LOG_PREFIX[phase], "counter return"]
    if action == "return":
        return ["counter return"]
    raise ValueError("unknown action %r" % action)


def _comment(ids):
    return 'comment "%s"' % rule_comment(ids, NFT_MAX)


def _record_lines(head, families):
    """The jumps to the record chains placed before a verdict the plan does not admit (a guard,
    the default): one per family the verdict's head can match."""
    lines = []
    for family in ("ipv4", "ipv6"):
        if family not in families:
            continue
        own = "meta nfproto %s" % family
        if own in head:
            lines.append("%s jump %s" % (head, observe.nft_chain(family)))
        elif "meta nfproto " not in head:
            lines.append(" ".join(part for part in (head, own, "jump %s" % observe.nft_chain(family)) if part))
    return lines


def render_rules(plan):
    """The rules of our input chain, one string each."""
    lines = []
    for rule in plan["rules"]:
        match = rule.get("match")
        if match == "loopback":
            heads = ['iif "lo"']
        elif match == "established":
            heads = ["ct state established,related"]
        elif match == "dnat":
            heads = _dnat_heads(rule)
        elif match == "dhcpv6_client":
            heads = ["ip6 saddr %(source)s udp sport %(source_port)d udp dport %(port)d" % DHCPV6_CLIENT]
        else:
            protocol = _protocol(rule)
            families = [family for family in ("ipv4", "ipv6") if family in rule["families"]]
            if rule["from"] or rule.get("to"):
                heads = [" ".join(part for part in (protocol, _address_match(family, "saddr", source),
                                                    _address_match(family, "daddr", destination)) if part)
                         for family in families for source in rule["from"] or [None]
                         for destination in rule.get("to") or [None]]
            elif families == ["ipv4", "ipv6"] or rule["icmp_types"] or rule["proto"] in ("icmp", "icmpv6"):
                heads = [protocol]                       # icmp/icmpv6 imply their family (nft drops the nfproto)
            elif families:
                heads = [" ".join(part for part in ("meta nfproto %s" % families[0], protocol) if part)]
            else:
                heads = []
        comment = _comment([why["id"] for why in rule["why"]])
        for head in heads:
            if rule["phase"] == "guard":
                lines += _record_lines(head, _head_families(head, rule))
            for statement in _statements(rule["action"], rule["phase"]):
                lines.append(" ".join(part for part in (head, statement, comment) if part))
    if not plan["passthrough"] and plan["default"] != "return":
        comment = _comment(["%s everything else" % plan["policy"]["state"]])
        lines += _record_lines("", ("ipv4", "ipv6"))
        for statement in _statements(plan["default"], "default"):
            lines.append("%s %s" % (statement, comment))
    return lines


def _head_families(head, rule):
    """The families a rule head matches: icmp and icmpv6 imply theirs."""
    if head.startswith("icmpv6 ") or "meta l4proto 58" in head or "meta l4proto icmpv6" in head:
        return ("ipv6",)
    if head.startswith("icmp "):
        return ("ipv4",)
    return tuple(rule["families"])


def render_table(plan):
    """The table as `nft -f` reads it (and `nft list table` prints it, once normalised)."""
    lines = ["table %s %s {" % (FAMILY, TABLE),
             '\tcomment "%s"' % fit("microseg.cluster_firewall: node %s" % plan["node"], NFT_MAX)]
    for name, content in sorted(plan["sets"].items()):
        for family in ("ipv4", "ipv6"):
            lines += ["\tset %s {" % set_name(name, family), "\t\ttype %s" % SET_TYPE[family], "\t\tflags interval"]
            if content[family]:
                lines.append("\t\telements = { %s }" % ", ".join(content[family]))
            lines += ["\t}", ""]
    if observe.records(plan):
        lines += observe.nft_definitions()
    lines += ["\tchain %s {" % CHAIN, "\t\ttype filter hook input priority %s; policy accept;" % PRIORITY]
    lines += ["\t\t" + rule for rule in render_rules(plan)]
    lines += ["\t}", "}"]
    return "\n".join(lines) + "\n"


def ruleset_file(plan):
    """What the role writes and `nft -f` loads: replaces our table in one transaction
    (declare it so the delete cannot fail, delete it, define it). A passthrough plan only removes it."""
    header = ["# microseg.cluster_firewall: table %s %s, node %s (%s mode, %s)"
              % (FAMILY, TABLE, clean(plan["node"]), plan["policy"]["mode"], plan["policy"]["state"])]
    if plan["passthrough"]:
        return "\n".join(header + ["# no rule configured: everything passes, nothing is installed"]) + "\n"
    return "\n".join(header + ["table %s %s" % (FAMILY, TABLE), "delete table %s %s" % (FAMILY, TABLE)]) + "\n" \
        + render_table(plan)


# ---------------------------------------------------------------- normalising and checking


def _element(text):
    text = text.strip()
    if not text or "/" in text or "-" in text:
        return text
    return text + ("/128" if ":" in text else "/32")


def normalise(text, protocol_numbers=None):
    """A table listing or definition -> comparable lines: counters zeroed, element lists joined
    and sorted, /32 and /128 written out, protocol names as numbers, whitespace folded."""
    protocol_numbers = protocol_numbers or {}
    text = re.sub(r"counter packets \d+ bytes \d+", "counter", observe.nft_strip_records(text))

    def elements(match):
        items = sorted(_element(item) for item in match.group(1).replace("\n", " ").split(",") if item.strip())
        return "elements = { %s }" % ", ".join(items)
    text = re.sub(r"elements = \{([^}]*)\}", elements, text, flags=re.S)

    def protocol(match):
        return "meta l4proto %s%s" % (match.group(1) or "", number_of(match.group(2), protocol_numbers))
    text = re.sub(r"meta l4proto (!= )?(\S+)", protocol, text)
    lines = []
    for line in text.splitlines():
        line = " ".join(line.split())
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


def table_body(text):
    """The `table inet microseg { ... }` definition out of a ruleset file (or None)."""
    start = (text or "").find("table %s %s {" % (FAMILY, TABLE))
    return None if start < 0 else text[start:]


def check_ruleset(text):
    """Refuse a ruleset (even from a user's template) that could touch anything but our table:
    at the top level only 'table inet microseg', 'delete table inet microseg' and the table's
    own definition may appear; what is inside its braces can only reach the table itself."""
    allowed = ("table %s %s" % (FAMILY, TABLE), "delete table %s %s" % (FAMILY, TABLE), "table %s %s {" % (FAMILY, TABLE))
    depth = 0
    for number, line in enumerate((text or "").splitlines(), 1):
        stripped = " ".join(line.split("#", 1)[0].split())
        if not stripped:
            continue
        if depth == 0 and stripped not in allowed:
            raise ValueError("line %d: %r is not allowed; the ruleset may only hold %s"
                             % (number, stripped, ", ".join(repr(item) for item in allowed)))
        depth += stripped.count("{") - stripped.count("}")
    if depth != 0:
        raise ValueError("unbalanced braces in the ruleset")
