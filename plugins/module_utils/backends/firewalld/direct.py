# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""firewalld backend on firewalld's *iptables* backend, pure part: our firewalld objects (the
policy and ipsets of backends/firewalld/render.py) -> the same openings as firewalld **direct** rules;
firewalld's direct listings and its direct.xml -> what of it is ours. No command is run here.

Why direct rules there. A policy or an ipset becomes live only with a `firewall-cmd --reload`,
and on firewalld's iptables backend a reload flushes every iptables table: kube-proxy's,
Docker's and the CNI's rules with firewalld's. Direct rules are added to the running firewalld
one by one without a reload, and kept in /etc/firewalld/direct.xml, which firewalld applies
again after its own reloads, restarts and at boot. They land in firewalld's INPUT_direct chain,
which INPUT runs before any zone or policy (and after kube-proxy's jumps, which kube-proxy puts
at the top of INPUT): in one iptables table an accept is final, so a zone's DROP or firewalld's
closing REJECT no longer sees what the plan admits.

Shape (per family, table filter):
- INPUT, priority JUMP_PRIORITY: `-m comment --comment microseg.cluster_firewall -j MSEG-INPUT`;
- MSEG-INPUT: one rule per rich rule of our policy; a rule with peers jumps to the peer set's
  chain instead of accepting;
- MSEG-<hash>: one rule per address of a peer set (`-s address -j ACCEPT`), or with a
  destination set as well, `-s address -j <the destination set's chain>` (`-d address -j ACCEPT`).
No kernel ipset is needed (firewalld would have to create it, with a reload). Every rule of ours
only accepts (or jumps to a chain that only accepts), so their order does not matter: they all
have priority RULE_PRIORITY, and a change of the plan adds and removes only the rules that differ
(a rule's identity in firewalld is its priority and arguments, so numbering them by position
would replace every rule after an inserted one).
Our table `inet microseg` still carries the plan's semantics, as on firewalld's nftables backend.
"""

from __future__ import annotations

import hashlib
import re
from xml.etree import ElementTree

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.firewalld import render as firewalld

TABLE = "filter"
TOP_CHAIN = "MSEG-INPUT"
CHAIN_PREFIX = "MSEG-"
COMMENT = "microseg.cluster_firewall"
JUMP_ARGS = "-m comment --comment %s -j %s" % (COMMENT, TOP_CHAIN)
JUMP_PRIORITY = -1000            # ahead of direct rules users give the default priority 0
RULE_PRIORITY = 0                # every rule in our own chains (their order does not matter)
IPVS = ("ipv4", "ipv6")
ICMP_MATCH = {"ipv4": "-p icmp -m icmp --icmp-type %s", "ipv6": "-p ipv6-icmp -m icmp6 --icmpv6-type %s"}
BEGIN = "  <!-- microseg.cluster_firewall: begin; rewritten and removed by it, change the plan instead -->"
BEGIN_CREATED = "  <!-- microseg.cluster_firewall: begin; it created this file and removes it -->"
END = "  <!-- microseg.cluster_firewall: end -->"
HEADER = '<?xml version="1.0" encoding="utf-8"?>'


def _set_chain(key):
    """A short, stable chain name for one peer set (or source and destination pair)."""
    return CHAIN_PREFIX + hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]


def _parse(path, text):
    try:
        return ElementTree.fromstring(text)
    except ElementTree.ParseError as error:
        raise ValueError("%s is not well-formed XML: %s" % (path, error))


def _ipsets(files):
    """{firewalld ipset name: (ipv, [entries])} of our ipset files."""
    found = {}
    for path, text in files.items():
        if not path.startswith("ipsets/"):
            continue
        root = _parse(path, text)
        family = "ipv4"
        for option in root.findall("option"):
            if option.get("name") == "family" and option.get("value") == "inet6":
                family = "ipv6"
        found[path[len("ipsets/"):-len(".xml")]] = (family, [(entry.text or "").strip() for entry in root.findall("entry")])
    return found


def _match(element, ipv):
    """The iptables arguments of a rich rule's port, protocol or icmp-type element."""
    if element is None:
        return ""
    if element.tag == "port":
        proto = element.get("protocol")
        return "-p %s -m %s --dport %s" % (proto, proto, element.get("port").replace("-", ":"))
    if element.tag == "protocol":
        return "-p %s" % element.get("value")
    if element.tag == "icmp-type":
        return ICMP_MATCH[ipv] % element.get("name")
    raise ValueError("our firewalld policy has a rich rule element %r the direct rules cannot express" % element.tag)


def _ipset_ipv(ipsets, name):
    if name not in ipsets:
        raise ValueError("our firewalld policy names the ipset %r, which is not among our objects" % name)
    return ipsets[name][0]


def direct_config(files):
    """Our firewalld objects ({path: XML}, the ruleset's objects) -> (chains,
    rules): chains [(ipv, chain)], rules [(ipv, chain, priority, args)], sorted. Empty for none."""
    policy = files.get(firewalld.POLICY_FILE)
    if not policy:
        return [], []
    ipsets = _ipsets(files)
    chains, rules = set(), set()
    opened = set()

    def peer_chain(ipv, source, destination):
        """The chain accepting from the source set (to the destination set); made once."""
        if destination and not source:
            chain = _set_chain("to:" + destination)
            entries = [("-d %s -j ACCEPT" % entry) for entry in ipsets[destination][1]]
        elif destination:
            target = peer_chain(ipv, None, destination)
            chain = _set_chain("from:%s,to:%s" % (source, destination))
            entries = [("-s %s -j %s" % (entry, target)) for entry in ipsets[source][1]]
        else:
            chain = _set_chain("from:" + source)
            entries = [("-s %s -j ACCEPT" % entry) for entry in ipsets[source][1]]
        if (ipv, chain) not in chains:
            chains.add((ipv, chain))
            rules.update((ipv, chain, RULE_PRIORITY, args) for args in entries)
        return chain

    for element in _parse(firewalld.POLICY_FILE, policy).findall("rule"):
        family = element.get("family")
        source = element.find("source")
        destination = element.find("destination")
        matches = [child for child in element if child.tag in ("port", "protocol", "icmp-type")]
        for ipv in IPVS:
            if family not in (None, ipv):
                continue
            source_set = source.get("ipset") if source is not None else None
            destination_set = destination.get("ipset") if destination is not None else None
            if any(name and _ipset_ipv(ipsets, name) != ipv for name in (source_set, destination_set)):
                continue
            args = [_match(matches[0] if matches else None, ipv)]
            if source is not None and source.get("address"):
                args.append("-s %s" % source.get("address"))
            if source_set or destination_set:
                args.append("-j %s" % peer_chain(ipv, source_set, destination_set))
            else:
                args.append("-j ACCEPT")
            rules.add((ipv, TOP_CHAIN, RULE_PRIORITY, " ".join(part for part in args if part)))
            opened.add(ipv)
    for ipv in IPVS:
        if ipv in opened:
            chains.add((ipv, TOP_CHAIN))
            rules.add((ipv, "INPUT", JUMP_PRIORITY, JUMP_ARGS))
    return sorted(chains), sorted(rules)


def is_our_chain(chain):
    return chain.startswith(CHAIN_PREFIX)


def is_our_rule(chain, args):
    return is_our_chain(chain) or (chain == "INPUT" and args == JUMP_ARGS)


# ---------------------------------------------------------------- firewall-cmd --direct listings

def parse_chains(listing, ours=True):
    """`firewall-cmd --direct --get-all-chains` -> [(ipv, chain)] of table filter (ours only by default)."""
    found = []
    for line in (listing or "").splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] == TABLE and (not ours or is_our_chain(parts[2])):
            found.append((parts[0], parts[2]))
    return sorted(found)


def parse_rules(listing, ours=True):
    """`firewall-cmd --direct --get-all-rules` -> [(ipv, chain, priority, args)] of table filter."""
    found = []
    for line in (listing or "").splitlines():
        parts = line.split(None, 4)
        if len(parts) < 4 or parts[1] != TABLE or not re.match(r"-?\d+$", parts[3]):
            continue
        args = " ".join((parts[4] if len(parts) == 5 else "").split())
        if not ours or is_our_rule(parts[2], args):
            found.append((parts[0], parts[2], int(parts[3]), args))
    return sorted(found)


def rules_ahead(listing):
    """The user's direct rules in INPUT that run before our jump and drop or reject -> [text]."""
    found = []
    for ipv, chain, priority, args in parse_rules(listing, ours=False):
        if chain == "INPUT" and priority <= JUMP_PRIORITY and args != JUMP_ARGS \
                and re.search(r"-j (DROP|REJECT)\b", args):
            found.append("firewalld direct rule %s INPUT priority %d %r runs before ours (priority %d): it may drop "
                         "what this plan admits" % (ipv, priority, args, JUMP_PRIORITY))
    return found


# ---------------------------------------------------------------- /etc/firewalld/direct.xml

def element_lines(chains, rules):
    lines = ['  <chain ipv="%s" table="%s" chain="%s"/>' % (ipv, TABLE, chain) for ipv, chain in chains]
    lines += ['  <rule ipv="%s" table="%s" chain="%s" priority="%d">%s</rule>' % (ipv, TABLE, chain, priority, args)
              for ipv, chain, priority, args in rules]
    return lines


def parse_file(text):
    """direct.xml's text -> its root element (comments kept), None for no file or an empty one.
    ValueError, naming the file and what is wrong, when it is not XML or not a <direct> element:
    firewalld itself would not load it, and our lines cannot be found in it or added to it."""
    if not (text or "").strip():
        return None
    parser = ElementTree.XMLParser(target=ElementTree.TreeBuilder(insert_comments=True))
    try:
        root = ElementTree.fromstring(text, parser=parser)
    except ElementTree.ParseError as error:
        raise ValueError("/etc/firewalld/direct.xml is not well-formed XML (%s): firewalld cannot load it either; "
                         "fix it or remove it, then run again" % error)
    if root.tag != "direct":
        raise ValueError("/etc/firewalld/direct.xml has no <direct> element to add our rules to (its root is <%s>)"
                         % root.tag)
    return root


def is_our_element(element):
    """Whether a child of <direct> is one of our chains or rules."""
    if element.tag not in ("chain", "rule") or element.get("table", TABLE) != TABLE:
        return False
    if element.tag == "chain":
        return is_our_chain(element.get("chain", ""))
    return is_our_rule(element.get("chain", ""), " ".join((element.text or "").split()))


def _our_element(line):
    """One line of direct.xml -> the chain or rule element of ours on it, else None."""
    text = line.strip()
    if not (text.startswith("<chain") or text.startswith("<rule")):
        return None
    try:
        element = ElementTree.fromstring(text)
    except ElementTree.ParseError:
        return None
    return element if is_our_element(element) else None


def _our_line(line):
    """Whether one line of direct.xml is ours: our markers, or one of our chains or rules."""
    return line.strip().startswith("<!-- microseg.cluster_firewall:") or _our_element(line) is not None


def file_entries(text):
    """(chains, rules) of ours in a direct.xml text, as direct_config() gives them; read as XML,
    whatever the layout (firewalld rewrites the file in its own, users write theirs).
    ValueError as parse_file()."""
    chains, rules = [], []
    root = parse_file(text)
    for element in root if root is not None else []:
        if not is_our_element(element):
            continue
        if element.tag == "chain":
            chains.append((element.get("ipv"), element.get("chain")))
        else:
            rules.append((element.get("ipv"), element.get("chain"), int(element.get("priority", "0")),
                          " ".join((element.text or "").split())))
    return sorted(chains), sorted(rules)


def _element_text(element):
    """One child of <direct> as one line of XML (its tail, the whitespace after it, left out)."""
    tail, element.tail = element.tail, None
    try:
        return ElementTree.tostring(element, encoding="unicode")
    finally:
        element.tail = tail


def _lines(text, root):
    """The file as lines in which each of our elements and markers and </direct> (or <direct/>)
    stands alone: the file's own lines when they already do (the user's lines stay exactly as
    they are), else the file laid out again, one element a line (a file on one line, say)."""
    lines = text.splitlines()
    kept = [line for line in lines if not _our_line(line)]
    closing = [line.strip() for line in kept].count("</direct>") + [line.strip() for line in kept].count("<direct/>")
    if closing == 1 and file_entries("\n".join(kept)) == ([], []):
        return lines
    declaration = [HEADER] if text.lstrip().startswith("<?xml") else []
    return declaration + ["<direct>"] + ["  " + _element_text(element) for element in root] + ["</direct>"]


def merged_file(text, chains, rules):
    """direct.xml with our block replaced by (chains, rules) and the user's elements untouched ->
    the new text, or None when the file is to be removed (we created it and nothing else is left).
    ValueError (naming the file) when it is not a well-formed <direct> document."""
    root = parse_file(text)
    lines = _lines(text, root) if root is not None else []
    created = BEGIN_CREATED in lines or not lines
    kept = [line for line in lines if not _our_line(line)]
    if not chains and not rules:
        if created and [line.strip() for line in kept] in ([HEADER, "<direct>", "</direct>"], []):
            return None
        return "\n".join(kept) + "\n"
    block = [BEGIN_CREATED if created else BEGIN] + element_lines(chains, rules) + [END]
    if not kept:
        kept = [HEADER, "<direct>", "</direct>"]
    stripped = [line.strip() for line in kept]
    if "</direct>" in stripped:
        at = len(stripped) - 1 - stripped[::-1].index("</direct>")
        return "\n".join(kept[:at] + block + kept[at:]) + "\n"
    at = stripped.index("<direct/>")
    return "\n".join(kept[:at] + ["<direct>"] + block + ["</direct>"] + kept[at + 1:]) + "\n"
