# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""iptables backend, pure part: a plan -> our chain's rules and ipsets; live iptables-save /
ipset save output -> our objects; what to change. No command is run here.

Rules are rendered exactly as iptables-save prints them (both the legacy and the nf_tables
variant print this form), so desired and live compare as text. What we own: the chain
MICROSEG-INPUT, the jumps to it from INPUT, and the ipsets named mseg-*. Nothing else is
read for writing, and nothing else is ever flushed, deleted or reordered.
"""

from __future__ import annotations

import re

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.comments import (
    IPTABLES_MAX,
    clean,
    rule_comment,
)
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends import observe
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.protocols import number_of
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.catalog import DHCPV6_CLIENT, HOST_FIREWALL_OWNERS, chain_owner
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.netfilter import is_terminal
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.ports import ports_from_strings

CHAIN = "MICROSEG-INPUT"
SET_PREFIX = "mseg-"
JUMP_COMMENT = "microseg: whitelist, after the Kubernetes/CNI rules"
JUMP = '-A INPUT -m comment --comment "%s" -j %s' % (JUMP_COMMENT, CHAIN)
FAMILY_SUFFIX = {"ipv4": "v4", "ipv6": "v6"}
IPSET_FAMILY = {"ipv4": "inet", "ipv6": "inet6"}
LOG_LIMIT = "-m limit --limit 5/min"
FILTER_BASE_CHAINS = ("INPUT", "FORWARD", "OUTPUT")
NFT_TABLE_FAMILY = {"ipv4": "ip", "ipv6": "ip6"}
LOG_PREFIX = {"blacklist": "microseg blacklist: ", "guard": "microseg alert: ", "default": "microseg alert: ",
              "essential": "microseg alert: "}
IPSET_MAXELEM = 65536         # ipset's default; a larger set gets room for all its entries
MULTIPORT_MAX = 15            # the multiport match takes 15 ports, a range counting as two
# Protocols iptables-save prints by name whatever /etc/protocols says; others are numbers.
BUILTIN_PROTOCOLS = {"tcp": "tcp", "udp": "udp", "sctp": "sctp", "icmp": "icmp", "icmpv6": "ipv6-icmp",
                     "esp": "esp", "ah": "ah"}
NUMBERED_PROTOCOLS = {"gre": "47", "ipip": "4", "vrrp": "112"}


def set_name(name, family):
    return "%s%s-%s" % (SET_PREFIX, name, FAMILY_SUFFIX[family])


def _proto_option(proto):
    if proto in (None, "all"):
        return []
    return ["-p", BUILTIN_PROTOCOLS.get(proto) or NUMBERED_PROTOCOLS.get(proto) or str(proto)]


def _port_chunks(ranges):
    """Split a port set into multiport-sized chunks (a range counts as two ports)."""
    chunk, weight = [], 0
    for low, high in ranges:
        cost = 1 if low == high else 2
        if chunk and weight + cost > MULTIPORT_MAX:
            yield chunk
            chunk, weight = [], 0
        chunk.append((low, high))
        weight += cost
    if chunk:
        yield chunk


def _port_options(proto, ranges):
    """One list of options per chunk: --dport for a single port/range, multiport otherwise."""
    if not ranges:
        return [[]]
    options = []
    for chunk in _port_chunks(ranges):
        if len(chunk) == 1:
            low, high = chunk[0]
            text = str(low) if low == high else "%d:%d" % (low, high)
            options.append(["-m", proto, "--dport", text])
        else:
            text = ",".join(str(low) if low == high else "%d:%d" % (low, high) for low, high in chunk)
            options.append(["-m", "multiport", "--dports", text])
    return options


def _comment(ids):
    return '-m comment --comment "%s"' % rule_comment(ids, IPTABLES_MAX)


def _endings(action, phase):
    """Action -> [(extra matches, target)]: an alert is a rate-limited LOG, then RETURN;
    monitor only counts (every rule has counters) and returns. A blacklist that watches counts
    (a rule with no target) or logs, and the packet goes on to the next rule."""
    if action == "count":
        return [("", "")]
    if action == "log":
        return [(LOG_LIMIT, '-j LOG --log-prefix "%s"' % LOG_PREFIX[phase])]
    if action == "accept":
        return [("", "-j ACCEPT")]
    if action == "drop":
        return [("", "-j DROP")]
    if action in ("monitor", "return"):
        return [("", "-j RETURN")]
    if action == "alert":
        return [(LOG_LIMIT, '-j LOG --log-prefix "%s"' % LOG_PREFIX[phase]), ("", "-j RETURN")]
    raise ValueError("unknown action %r" % action)


def _match_options(rule, family):
    """Protocol/port/ICMP option lists for one rule in one family (several for multiport chunks)."""
    match = rule.get("match")
    if match == "loopback":
        return [["-i", "lo"]]
    if match == "established":
        return [["-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED"]]
    if match == "dnat" and not rule["ports"]:
        return [["-m", "conntrack", "--ctstate", "DNAT"]]
    if match == "dnat":           # the connection's port before kube-proxy's DNAT
        return [["-p", rule["proto"], "-m", "conntrack", "--ctstate", "DNAT", "--ctorigdstport", text.replace("-", ":")]
                for text in rule["ports"]]
    if match == "dhcpv6_client":
        return [["-s", DHCPV6_CLIENT["source"], "-p", "udp", "-m", "udp", "--sport", str(DHCPV6_CLIENT["source_port"]),
                 "--dport", str(DHCPV6_CLIENT["port"])]]
    proto = rule["proto"]
    if rule["icmp_types"]:
        if proto == "icmp":
            return [["-p", "icmp", "-m", "icmp", "--icmp-type", str(kind)] for kind in rule["icmp_types"]]
        return [["-p", "ipv6-icmp", "-m", "icmp6", "--icmpv6-type", str(kind)] for kind in rule["icmp_types"]]
    ranges = ports_from_strings(rule["ports"]) if rule["ports"] else []
    return [_proto_option(proto) + ports for ports in _port_options(proto, ranges)]


def render_rules(plan, family):
    """A plan -> the rule specs of our chain for one family, in iptables-save form (without "-A CHAIN ")."""
    lines = []
    for rule in plan["rules"]:
        if family not in rule["families"]:
            continue
        comment = _comment([why["id"] for why in rule["why"]])
        sources = [["-m", "set", "--match-set", set_name(name, family), "src"] for name in rule["from"]] or [[]]
        destination = [part for name in rule.get("to") or () for part in
                       ("-m", "set", "--match-set", set_name(name, family), "dst")]
        for matches in _match_options(rule, family):
            for source in sources:
                if rule["phase"] == "guard":
                    lines += observe.iptables_rules(" ".join(matches + source + destination), family)
                for extra, target in _endings(rule["action"], rule["phase"]):
                    lines.append(" ".join(part for part in (" ".join(matches + source + destination), extra, comment,
                                                            target) if part))
    if not plan["passthrough"] and plan["default"] != "return":
        comment = _comment(["%s everything else" % plan["policy"]["state"]])
        lines += observe.iptables_rules("", family)
        for extra, target in _endings(plan["default"], "default"):
            lines.append(" ".join(part for part in (extra, comment, target) if part))
    return lines


def render_sets(plan, family):
    """{ipset name: [CIDR, ...]} for one family (every set the plan names, even when empty)."""
    return dict((set_name(name, family), list(content[family])) for name, content in plan["sets"].items())


# ---------------------------------------------------------------- reading the live state


def normalise_rule(spec, protocol_numbers):
    """A live rule spec in the form rendered here: protocol names other than those rendered by name
    (tcp, udp, ...) -> numbers, from what iptables-save prints and the node's /etc/protocols."""
    def number(match):
        name = match.group(1)
        if name in BUILTIN_PROTOCOLS.values() or name == "all":
            return match.group(0)
        return "-p %s" % number_of(name, protocol_numbers)
    return re.sub(r"-p (\S+)", number, spec, count=1)


def parse_save(text, protocol_numbers=None):
    """iptables-save (filter table) -> {"chain_exists", "rules" (our chain), "input" (INPUT rule specs),
    "table" (a filter table was listed), "others" (what is in it besides our chain and our jumps:
    other chains, other rules, a policy other than ACCEPT)}."""
    protocol_numbers = protocol_numbers or {}
    result = {"chain_exists": False, "rules": [], "input": [], "table": False, "others": 0}
    in_filter = False
    for line in (text or "").splitlines():
        if line.startswith("*"):
            in_filter = line.strip() == "*filter"
            result["table"] = result["table"] or in_filter
        elif not in_filter:
            continue
        elif line.startswith(":%s " % CHAIN):
            result["chain_exists"] = True
        elif line.startswith(":"):
            name, policy = (line[1:].split() + ["-"])[:2]
            result["others"] += name not in FILTER_BASE_CHAINS or policy != "ACCEPT"
        elif line.startswith("-A %s " % CHAIN):
            result["rules"].append(normalise_rule(line[len("-A %s " % CHAIN):], protocol_numbers))
        elif line.startswith("-A INPUT "):
            result["input"].append(line[len("-A INPUT "):])
            result["others"] += _target(line) != CHAIN
        elif line.startswith("-A "):
            result["others"] += 1
    return result


def only_ours(live):
    """True when the filter table holds nothing but our chain, our jumps and empty built-in
    chains with policy ACCEPT: with iptables-nft, such a table exists only because we made it."""
    return live["table"] and live["others"] == 0 and (live["chain_exists"] or bool(jump_state(live["input"])["ours"]))


def void_nft_table(listing):
    """`nft -j list table ip|ip6 filter` -> True when it holds only base chains with policy accept
    and no rule, set or other object: removing it changes no packet's fate."""
    for item in listing.get("nftables", []):
        if "metainfo" in item or "table" in item:
            continue
        chain = item.get("chain")
        if chain is None or chain.get("hook") is None or chain.get("policy", "accept") != "accept":
            return False
    return True


def _target(spec):
    match = re.search(r"(?:^|\s)-[jg] (\S+)", spec)
    return match.group(1) if match else None


def jump_state(input_specs):
    """Where our jump is in INPUT: {"ours": [indexes], "foreign": [indexes], "ok": bool,
    "after_ours": [...], "terminal": the first unconditional DROP/REJECT or None, "position": where
    a new jump goes (1-based, once ours are deleted; None: appended)}.

    OK means exactly one jump, placed after every Kubernetes/CNI jump (they are inserted at the
    top by kube-proxy and calico; a CNI in append mode can land after ours and is reported),
    ahead of a host firewall's first jump (ufw's: the plan decides first, ufw what it leaves;
    "host_firewall" names that jump) and ahead of a foreign terminal rule, which would otherwise
    hide every packet from our chain (placing ours there reorders nothing of theirs)."""
    ours, foreign = [], []
    terminal = next((index for index, spec in enumerate(input_specs) if is_terminal(spec)), None)
    host_firewall = next((index for index, spec in enumerate(input_specs)
                          if chain_owner(_target(spec) or "") in HOST_FIREWALL_OWNERS), None)
    stops = [index for index in (terminal, host_firewall) if index is not None]
    stop = min(stops) if stops else None
    for index, spec in enumerate(input_specs):
        target = _target(spec)
        owner = chain_owner(target) if target else None
        if target == CHAIN:
            ours.append(index)
        elif owner not in (None, "microseg") + HOST_FIREWALL_OWNERS and (stop is None or index < stop):
            foreign.append(index)
    after_ours = [input_specs[index] for index in foreign if ours and index > ours[0]]
    ok = len(ours) == 1 and all(index < ours[0] for index in foreign) and (stop is None or ours[0] < stop)
    position = None if stop is None else stop - len([index for index in ours if index < stop]) + 1
    return {"ours": ours, "foreign": foreign, "ok": ok, "after_ours": after_ours,
            "terminal": None if terminal is None else input_specs[terminal],
            "host_firewall": None if host_firewall is None else input_specs[host_firewall], "position": position}


def parse_ipset_save(text):
    """`ipset save` -> {name: {"family": inet|inet6, "type": ..., "members": [CIDR]}} for our sets only."""
    sets = {}
    for line in (text or "").splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0] == "create" and parts[1].startswith(SET_PREFIX):
            family = parts[parts.index("family") + 1] if "family" in parts else "inet"
            maxelem = int(parts[parts.index("maxelem") + 1]) if "maxelem" in parts else IPSET_MAXELEM
            sets[parts[1]] = {"type": parts[2], "family": family, "maxelem": maxelem, "members": []}
        elif len(parts) >= 3 and parts[0] == "add" and parts[1] in sets:
            sets[parts[1]]["members"].append(_cidr(parts[2], sets[parts[1]]["family"]))
    for content in sets.values():
        content["members"].sort()
    return sets


def _cidr(member, family):
    if "/" in member:
        return member
    return member + ("/32" if family == "inet" else "/128")


# ---------------------------------------------------------------- what to change


def maxelem(count):
    """Room for `count` entries: ipset's default 65536, or more for a larger set."""
    return max(IPSET_MAXELEM, count)


def create_line(name, family, count):
    """`ipset create` for one of our sets (family inet or inet6) that will hold `count` entries."""
    size = maxelem(count)
    return "create %s hash:net family %s" % (name, family) + ("" if size == IPSET_MAXELEM else " maxelem %d" % size)


def set_changes(desired, live):
    """-> (ipset restore script for creations/updates, [obsolete set names], [descriptions])."""
    lines, notes, temporary = [], [], set()
    for name in sorted(desired):
        if observe.is_record_set(name):            # the kernel fills them: created once, never rewritten
            if name not in live:
                family = "ipv6" if name.endswith("-v6") else "ipv4"
                lines += [line for line in observe.ipset_create_lines(family) if line.split()[1] == name]
                notes.append("create ipset %s (flow records)" % name)
            continue
        family = "inet6" if name.endswith("-v6") else "inet"
        members = sorted(_cidr(member, family) for member in desired[name])
        current = live.get(name)
        if current is not None and current["members"] == members and current["family"] == family \
                and current.get("maxelem", IPSET_MAXELEM) >= len(members):
            continue
        if current is None:
            lines.append(create_line(name, family, len(members)))
            lines.extend("add %s %s" % (name, member) for member in members)
            notes.append("create ipset %s (%d entries)" % (name, len(members)))
        else:
            temp = name + "-new"
            temporary.add(temp)
            lines.append(create_line(temp, family, len(members)) + " -exist")
            lines.append("flush %s" % temp)
            lines.extend("add %s %s" % (temp, member) for member in members)
            lines.append("swap %s %s" % (temp, name))
            lines.append("destroy %s" % temp)
            notes.append("update ipset %s (%d entries)" % (name, len(members)))
    # a temporary set (NAME-new) this script does not fill and swap is one a killed or failed swap
    # left behind: it goes, like any set of ours nothing wants (a removal leaves none of them)
    obsolete = sorted(name for name in live if name not in desired and name not in temporary)
    return "\n".join(lines) + ("\n" if lines else ""), obsolete, notes


def restore_script(desired_rules, live, remove=False):
    """iptables-restore --noflush input that makes our chain and jump right, or None when they are.

    Declaring ':MICROSEG-INPUT - [0:0]' flushes only that chain (the --noflush contract kube-proxy
    relies on too); INPUT is only touched by deleting our own jumps and appending one."""
    jumps = jump_state(live["input"])
    delete_jumps = ["-D INPUT %s" % live["input"][index] for index in jumps["ours"]]
    if remove:
        if not live["chain_exists"] and not jumps["ours"]:
            return None
        lines = ["*filter"] + delete_jumps
        if live["chain_exists"]:
            lines += ["-F %s" % CHAIN, "-X %s" % CHAIN]
        return "\n".join(lines + ["COMMIT"]) + "\n"
    if live["chain_exists"] and live["rules"] == desired_rules and jumps["ok"]:
        return None
    lines = ["*filter", ":%s - [0:0]" % CHAIN]
    lines += ["-A %s %s" % (CHAIN, spec) for spec in desired_rules]
    if not jumps["ok"]:
        jump = JUMP if jumps["position"] is None else JUMP.replace("-A INPUT ", "-I INPUT %d " % jumps["position"], 1)
        lines += delete_jumps + [jump]
    return "\n".join(lines + ["COMMIT"]) + "\n"


def describe(live_rules, live_input, sets):
    """Our objects as text, for --diff (before/after)."""
    lines = ["# ipsets"]
    for name in sorted(sets):
        if observe.is_record_set(name):
            lines.append("%s: flow records" % name)
        else:
            lines.append("%s: %s" % (name, " ".join(sets[name]) or "(empty)"))
    lines.append("# chain %s" % CHAIN)
    lines += ["-A %s %s" % (CHAIN, spec) for spec in live_rules]
    lines.append("# jumps from INPUT")
    lines += ["-A INPUT %s" % spec for spec in live_input if _target(spec) == CHAIN]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- the files the role writes


def ruleset_file(plan, family):
    """The iptables-restore --noflush input for one family (also what the boot unit restores)."""
    lines = ["# microseg.cluster_firewall: chain %s for %s, node %s (%s mode, %s)"
             % (CHAIN, family, clean(plan["node"]), plan["policy"]["mode"], plan["policy"]["state"])]
    rules = render_rules(plan, family) if not plan["passthrough"] else []
    if rules:
        lines += ["*filter", ":%s - [0:0]" % CHAIN] + ["-A %s %s" % (CHAIN, spec) for spec in rules] + ["COMMIT"]
    else:
        lines.append("# no rule configured: everything passes, nothing is installed")
    return "\n".join(lines) + "\n"


def ipsets_file(plan):
    """The peer sets in `ipset restore` form, both families."""
    lines = ["# microseg.cluster_firewall: peer sets of node %s" % clean(plan["node"])]
    if not plan["passthrough"]:
        for family in ("ipv4", "ipv6"):
            for name, members in sorted(render_sets(plan, family).items()):
                lines.append(create_line(name, IPSET_FAMILY[family], len(members)))
                lines.extend("add %s %s" % (name, member) for member in members)
            if observe.records(plan):
                lines += observe.ipset_create_lines(family)
    return "\n".join(lines) + "\n"
