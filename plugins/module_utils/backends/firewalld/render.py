# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""firewalld backend, pure part: a plan -> the firewalld objects we own (one policy and its
ipsets, as firewalld's permanent XML files); firewalld's listings -> what we compare and report.
No command is run here.

Why this shape. In nftables every base chain on the input hook must accept a packet: our table
`inet microseg` alone cannot let through what firewalld's zones reject. So on a firewalld node
the plan is carried by two objects of ours, each doing what it does best:
- our table `inet microseg` (the nftables backend, unchanged) keeps the product's semantics:
  the blacklist first and final, monitor/alert/block, host/service mode, counters and logs;
  a drop there is final whatever firewalld says;
- the firewalld policy `microseg` (ingress ANY -> HOST, priority PRIORITY, target CONTINUE)
  accepts exactly the flows the plan admits, so firewalld's zones do not reject them. Its rich
  rules name the plan's peer sets as firewalld ipsets `microseg-<set>-v4|v6`. What the plan
  does not admit continues to the zones: in service mode the user's own firewalld rules keep
  deciding it; in host/block mode our table has dropped it already.
A policy with a negative priority runs in every zone's chain before the zone's own rules and
target, so a zone with target DROP bound to the cluster interface does not cut admitted flows;
only another policy with a lower priority runs first (reported, see policies_ahead()).
firewalld keeps the objects in its permanent configuration: its reload, restart and a reboot
bring them back by themselves.
"""

from __future__ import annotations

import json
import re

# not xml.sax.saxutils: it imports urllib, http.client and ssl, about 20 ms in every process that
# renders (each Ansible worker, each module run on a node)
from html import escape as html_escape

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.nftables.render import NUMBERED
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.catalog import DHCPV6_CLIENT
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.ports import ports_from_strings


def escape(text):
    """text as XML character data (&, < and >)."""
    return html_escape(text, quote=False)


def quoteattr(text):
    """text as a double-quoted XML attribute value (our values are names, numbers and addresses:
    no tabs or line breaks, which an attribute turns into spaces)."""
    return '"%s"' % html_escape(text, quote=True)


POLICY = "microseg"
PRIORITY = -30000              # policies run from the lowest number up; -32768 is firewalld's minimum
PREFIX = "microseg-"           # every ipset of ours; nothing else is named so
MAX_IPSET_NAME = 31            # the kernel's ipset name limit, kept by firewalld for every backend
POLICY_FILE = "policies/%s.xml" % POLICY
FAMILY_SUFFIX = {"ipv4": "-v4", "ipv6": "-v6"}
IPSET_FAMILY = {"ipv4": "inet", "ipv6": "inet6"}
PROTOCOL_VALUE = {"icmp": "icmp", "icmpv6": "ipv6-icmp"}
ICMP_FAMILY = {"icmp": "ipv4", "icmpv6": "ipv6"}
# ICMP types (numbers, as the plan holds them) -> firewalld's icmptype names (firewall-cmd
# --get-icmptypes, the names every firewalld since 0.9 knows). A type without a name here gets no
# rule of ours: firewalld's zones keep deciding it, as they did before us. Admitting the whole
# ICMP protocol in its place would open every ICMP type to everyone ahead of the user's
# icmp-blocks. (MLD, types 130-132 and 143, is named only by firewalld 2.1 and later; a zone with
# the default target accepts the ICMP it does not block, MLD included.)
ICMP_TYPE_NAMES = {
    "icmp": {0: "echo-reply", 3: "destination-unreachable", 8: "echo-request", 11: "time-exceeded",
             12: "parameter-problem"},
    "icmpv6": {1: "destination-unreachable", 2: "packet-too-big", 3: "time-exceeded", 4: "parameter-problem",
               128: "echo-request", 129: "echo-reply", 133: "router-solicitation", 134: "router-advertisement",
               135: "neighbour-solicitation", 136: "neighbour-advertisement"},
}
OWNED = ("the firewalld objects of microseg.cluster_firewall; they are rewritten and removed by it: "
         "change the plan, not this file")


def ipset_name(name, family):
    """The firewalld ipset carrying the plan's set `name` for one family."""
    text = PREFIX + re.sub(r"[^A-Za-z0-9-]", "-", name) + FAMILY_SUFFIX[family]
    if len(text) > MAX_IPSET_NAME:
        raise ValueError("the set name %r is too long for a firewalld ipset (%r: %d characters, at most %d)"
                         % (name, text, len(text), MAX_IPSET_NAME))
    return text


def _rule(family, source, destination, element):
    """One rich rule of the policy, as its XML element."""
    lines = ["  <rule%s>" % (" family=%s" % quoteattr(family) if family else "")]
    if source:
        lines.append("    <source ipset=%s/>" % quoteattr(source))
    if destination:
        lines.append("    <destination ipset=%s/>" % quoteattr(destination))
    if element:
        lines.append("    " + element)
    lines += ["    <accept/>", "  </rule>"]
    return lines


def _elements(rule):
    """[(family or None, element)]: what one admitting rule matches, besides its addresses."""
    proto = rule["proto"]
    if proto in ("icmp", "icmpv6"):
        family = ICMP_FAMILY[proto]
        if rule["icmp_types"]:          # exactly the named types (see ICMP_TYPE_NAMES), never more
            names = [ICMP_TYPE_NAMES[proto][kind] for kind in rule["icmp_types"] if kind in ICMP_TYPE_NAMES[proto]]
            return [(family, "<icmp-type name=%s/>" % quoteattr(name)) for name in names]
        return [(family, "<protocol value=%s/>" % quoteattr(PROTOCOL_VALUE[proto]))]
    if rule["ports"]:
        ranges = [str(low) if low == high else "%d-%d" % (low, high) for low, high in ports_from_strings(rule["ports"])]
        return [(None, "<port port=%s protocol=%s/>" % (quoteattr(text), quoteattr(proto))) for text in ranges]
    if proto in (None, "all"):
        return [(None, "")]
    # by number where /etc/protocols' names mislead (its 'ipip' is protocol 94, not IP-in-IP's 4)
    return [(None, "<protocol value=%s/>" % quoteattr(NUMBERED.get(proto) or proto))]


def admitting_rules(plan):
    """The plan's rules that admit a flow by address, protocol and port (loopback, established
    and DNAT'ed traffic firewalld accepts by itself, ahead of every policy)."""
    return [rule for rule in plan["rules"]
            if rule["action"] == "accept" and rule.get("match") in (None, "dhcpv6_client")]


def policy_rules(plan):
    """The policy's rich rules, as XML lines, in the plan's order."""
    lines = []
    for rule in admitting_rules(plan):
        if rule.get("match") == "dhcpv6_client":
            # a rich rule holds one port element: the server's source port cannot be added
            lines += ['  <rule family="ipv6">', "    <source address=%s/>" % quoteattr(DHCPV6_CLIENT["source"]),
                      '    <port port="%d" protocol="udp"/>' % DHCPV6_CLIENT["port"], "    <accept/>", "  </rule>"]
            continue
        families = [family for family in ("ipv4", "ipv6") if family in rule["families"]]
        for element_family, element in _elements(rule):
            chosen = [family for family in families if element_family in (None, family)]
            if not chosen:
                continue
            if rule["from"] or rule.get("to"):
                for family in chosen:
                    for source in rule["from"] or [None]:
                        for destination in rule.get("to") or [None]:
                            lines += _rule(family, source and ipset_name(source, family),
                                           destination and ipset_name(destination, family), element)
            elif len(chosen) == 2 and element_family is None:
                lines += _rule(None, None, None, element)          # no family: both
            else:
                for family in chosen:
                    lines += _rule(family, None, None, element)
    return lines


def policy_xml(plan):
    """/etc/firewalld/policies/microseg.xml."""
    description = "%s; node %s, %s mode, %s" % (OWNED, plan["node"], plan["policy"]["mode"], plan["policy"]["state"])
    lines = ['<?xml version="1.0" encoding="utf-8"?>',
             '<policy target="CONTINUE" priority="%d">' % PRIORITY,
             "  <short>%s</short>" % POLICY,
             "  <description>%s</description>" % escape(description),
             '  <ingress-zone name="ANY"/>',
             '  <egress-zone name="HOST"/>']
    lines += policy_rules(plan)
    lines.append("</policy>")
    return "\n".join(lines) + "\n"


def ipset_xml(name, family, entries):
    """/etc/firewalld/ipsets/microseg-<set>-v4|v6.xml."""
    lines = ['<?xml version="1.0" encoding="utf-8"?>',
             '<ipset type="hash:net">',
             "  <short>%s</short>" % escape(ipset_name(name, family)),
             "  <description>%s</description>" % escape("%s; the plan's set %s" % (OWNED, name))]
    if family == "ipv6":
        lines.append('  <option name="family" value="inet6"/>')
    lines += ["  <entry>%s</entry>" % escape(entry) for entry in entries]
    lines.append("</ipset>")
    return "\n".join(lines) + "\n"


def objects(plan):
    """{path under /etc/firewalld: XML text} of every object of ours; {} for a passthrough plan
    (nothing admitted by us, nothing to open in firewalld)."""
    if plan["passthrough"]:
        return {}
    files = {}
    for name, content in sorted(plan["sets"].items()):
        for family in ("ipv4", "ipv6"):
            path = "ipsets/%s.xml" % ipset_name(name, family)
            if path in files:
                raise ValueError("the sets %r and another one of the plan give the same firewalld ipset name %r"
                                 % (name, ipset_name(name, family)))
            files[path] = ipset_xml(name, family, content[family])
    files[POLICY_FILE] = policy_xml(plan)
    return files


def objects_file(plan):
    """What the role hands host_firewall: the objects as one JSON text."""
    return json.dumps(objects(plan), indent=1, sort_keys=True) + "\n"


def is_ours(path):
    """Whether a path under /etc/firewalld names one of our objects."""
    return path == POLICY_FILE or (path.startswith("ipsets/" + PREFIX) and path.endswith(".xml"))


def check_objects(files):
    """Refuse (ValueError) objects a template could have made that are not ours."""
    if not isinstance(files, dict):
        raise ValueError("the firewalld objects must be a mapping of path to XML text")
    for path, text in files.items():
        if not is_ours(path) or "/" in path.split("/", 1)[1]:
            raise ValueError("%r is not one of our firewalld objects; allowed: %s and ipsets/%s*.xml"
                             % (path, POLICY_FILE, PREFIX))
        if not isinstance(text, str) or not text.startswith("<?xml"):
            raise ValueError("%r: not an XML document" % path)


# ---------------------------------------------------------------- reading firewalld

def comparable(listing):
    """A `--list-all-zones` / `--list-all-policies` listing -> the lines that must be the same in
    the runtime and the permanent configuration: '(active)' marks and interface bindings left out
    (NetworkManager, Docker and libvirt bind interfaces at runtime and bind them again after a
    reload), and so are our own objects."""
    lines, skipping = [], False
    for line in (listing or "").splitlines():
        if line and not line[0].isspace():
            name = line.split()[0]
            skipping = name == POLICY
            if not skipping:
                lines.append(name)
            continue
        if skipping or line.strip().startswith("interfaces:"):
            continue
        if line.strip():
            lines.append(" ".join(line.split()))
    return lines


def runtime_only(runtime, permanent):
    """What a reload would lose: lines of the runtime listing not in the permanent one."""
    permanent_lines = set(comparable(permanent))
    return [line for line in comparable(runtime) if line not in permanent_lines]


def policies(listing):
    """`firewall-cmd --list-all-policies` -> [{name, priority, target, ingress, egress, rules}]."""
    found, current = [], None
    for line in (listing or "").splitlines():
        if line and not line[0].isspace():
            current = {"name": line.split()[0], "priority": 0, "target": "CONTINUE", "ingress": [], "egress": [],
                       "rules": []}
            found.append(current)
            continue
        if current is None or not line.strip():
            continue
        text = line.strip()
        key, _sep, value = text.partition(":")
        if key == "priority":
            current["priority"] = int(value.strip() or 0)
        elif key == "target":
            current["target"] = value.strip()
        elif key == "ingress-zones":
            current["ingress"] = value.split()
        elif key == "egress-zones":
            current["egress"] = value.split()
        elif text.startswith("rule "):
            current["rules"].append(text)
    return found


def policies_ahead(found_policies):
    """Policies (as policies() gives them) that run before ours on traffic to the host and drop or
    reject some of it -> [text]."""
    found = []
    for policy in found_policies:
        if policy["name"] == POLICY or policy["priority"] >= PRIORITY or "HOST" not in policy["egress"]:
            continue
        dropping = [rule for rule in policy["rules"] if re.search(r"\b(drop|reject)\b", rule)]
        if policy["target"] in ("DROP", "REJECT", "%%REJECT%%") or dropping:
            found.append("firewalld policy %s (priority %d, ahead of ours at %d) %s: it may drop what this plan admits"
                         % (policy["name"], policy["priority"], PRIORITY,
                            "has target %s" % policy["target"] if policy["target"] in ("DROP", "REJECT", "%%REJECT%%")
                            else "has the rule %r" % dropping[0]))
    return found
