# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The flow records, pure part: how each backend records in the kernel the flows the plan does
not admit, and how their listings read back as records. No command is run here.

A record is one (source address, protocol, destination port or ICMP type/code) that reached
the end of our chain (host mode) or a service-mode guard: what `block` drops, `alert` logs and
`monitor` counts. The kernel keeps them in sets of ours that are bounded (SIZE entries per set;
when a set is full, new tuples are not recorded and the packet's fate is unchanged) and whose
entries expire TIMEOUT seconds after they were last (or first) refreshed:

- nftables: a regular chain `observe_v4|v6` of our table, jumped to before each such rule,
  feeds `observed_v4|v6` with `update` (a counter per entry; each packet refreshes its
  timeout: last seen) and `first_seen_v4|v6` with `add` (never refreshed: first seen). The key
  is address . protocol . port: the destination port for port protocols, type * 256 + code for
  ICMP (the first two bytes of its header), 0 for the others.
- iptables: ipsets `mseg-obs-first-v4|v6` (hash:ip,port with counters; an entry is added once,
  so its timeout tells the first packet) and `mseg-obs-last-v4|v6` (re-added with --exist at
  every packet: last seen). A re-add resets an entry's counters, so the counting set is the one
  never re-added; its counters move with a set match placed before the add. hash:ip,port keeps
  the protocol and the port (or ICMP type/code) itself.

Counts are of the packets that reached the verdict: in monitor and alert the first packet of a
connection (what follows it is established), in block every retry.
"""

from __future__ import annotations

import json

TIMEOUT = 86400                  # seconds an entry lives after its last refresh
SIZE = 65536                     # entries per set, per family
NFT_TIMEOUT = "1d"               # TIMEOUT as nft lists it
HASHSIZE = 8192                  # ipset buckets (12 entries each): SIZE fits
PORT_PROTOCOLS = ("tcp", "udp", "dccp", "sctp", "udplite")
ICMP = {"ipv4": "icmp", "ipv6": "ipv6-icmp"}
# nft lists a set of protocols by number: in this order the rendered text reads back as written
PROTOCOL_ORDER = {"icmp": 1, "tcp": 6, "udp": 17, "dccp": 33, "ipv6-icmp": 58, "sctp": 132, "udplite": 136}
NFT_ADDRESS = {"ipv4": ("ip", "ipv4_addr"), "ipv6": ("ip6", "ipv6_addr")}
NFT_SUFFIX = {"ipv4": "_v4", "ipv6": "_v6"}
NFT_SETS = ("observed", "first_seen")
IPSET_SUFFIX = {"ipv4": "-v4", "ipv6": "-v6"}
IPSET_FIRST = "mseg-obs-first"   # counts; added once
IPSET_LAST = "mseg-obs-last"     # re-added at every packet
IPSET_FAMILY = {"ipv4": "inet", "ipv6": "inet6"}
IPTABLES_COMMENT = '-m comment --comment "microseg: observe"'


def records(plan):
    """True when the plan has a verdict for flows it does not admit (host mode's default, a
    service-mode guard): those flows are recorded."""
    guarded = any(rule["phase"] == "guard" for rule in plan["rules"])
    return not plan["passthrough"] and (plan["default"] != "return" or guarded)


def _ordered(names):
    return ", ".join(sorted(names, key=PROTOCOL_ORDER.get))


# ---------------------------------------------------------------- nftables


def nft_chain(family):
    return "observe" + NFT_SUFFIX[family]


def nft_set(name, family):
    return name + NFT_SUFFIX[family]


def nft_definitions():
    """The sets and chains of the records, as lines of our table's definition."""
    lines = []
    for family in ("ipv4", "ipv6"):
        address_type = NFT_ADDRESS[family][1]
        for name in NFT_SETS:
            lines += ["\tset %s {" % nft_set(name, family),
                      "\t\ttype %s . inet_proto . inet_service" % address_type,
                      "\t\tsize %d" % SIZE,
                      "\t\tflags dynamic,timeout"]
            if name == "observed":
                lines.append("\t\tcounter")
            lines += ["\t\ttimeout %s" % NFT_TIMEOUT, "\t}", ""]
    for family in ("ipv4", "ipv6"):
        address = NFT_ADDRESS[family][0]
        icmp = ICMP[family]
        # The ICMP key has no protocol match of its own: it comes last, after the port protocols
        # and all but ICMP have returned. `meta l4proto icmp` before `th sport` is a match nft
        # 1.0 leaves out when it lists the rule (it takes it for th's dependency), so a table
        # reloaded from that listing recorded every packet by its source port. Written so, the
        # rule holds nothing nft can leave out: the listing is the rule.
        keys = (("meta l4proto { %s }" % _ordered(PORT_PROTOCOLS), "th dport", " return"),
                ("meta l4proto != %s" % icmp, "0", " return"),
                ("", "th sport", ""))
        lines.append("\tchain %s {" % nft_chain(family))
        for match, port, end in keys:
            key = "%s saddr . meta l4proto . %s" % (address, port)
            lines.append("\t\t%s" % " ".join(part for part in (
                match, "update @%s { %s } add @%s { %s }%s"
                % (nft_set("observed", family), key, nft_set("first_seen", family), key, end)) if part))
        lines += ["\t}", ""]
    return lines


def nft_strip_records(text):
    """Our table's listing without what the kernel fills in (the records in the record sets;
    the peer sets keep their elements), with the key written as we write it: what remains
    compares with what we render, whatever nft version lists it. The record rules themselves
    are kept as listed: a record rule that differs from ours is a change to make."""
    record_sets = set("set %s {" % nft_set(name, family) for name in NFT_SETS for family in ("ipv4", "ipv6"))
    out, in_record_set, skipping = [], False, False
    for line in (text or "").splitlines():
        stripped = " ".join(line.split())
        if skipping:
            skipping = "}" not in stripped
            continue
        if stripped in record_sets:
            in_record_set = True
        elif in_record_set and stripped.startswith("elements = {"):
            skipping = "}" not in stripped
            continue
        elif in_record_set and stripped == "}":
            in_record_set = False
        # nft 1.1 lists the ICMP key's first two header bytes as raw payload
        out.append(line.replace("@th,0,16", "th sport").replace("@th,16,16", "th dport"))
    return "\n".join(out)


def _port_and_icmp(proto, value):
    """The key's third part -> (port, icmp_type, icmp_code) by the protocol."""
    if proto in ("icmp", "ipv6-icmp", "icmpv6", 1, 58):
        return None, int(value) >> 8, int(value) & 0xff
    if proto in PORT_PROTOCOLS or proto in (6, 17, 33, 132, 136):
        return int(value), None, None
    return None, None, None


# the names the whitelist takes, for what nft and ipset print by number or by /etc/protocols' name
PROTOCOL_NAMES = {"ipv6-icmp": "icmpv6", "ipencap": "ipip", "4": "ipip", "47": "gre", "50": "esp", "51": "ah",
                  "112": "vrrp", "1": "icmp", "58": "icmpv6", "6": "tcp", "17": "udp", "132": "sctp"}


def _protocol_name(proto):
    proto = str(proto)
    return PROTOCOL_NAMES.get(proto, proto)


def nft_records(listing, now):
    """`nft -j list set` of observed_* and first_seen_* (one JSON document each, by family) ->
    records. `listing`: {family: (observed JSON, first_seen JSON)}; `now`: Unix time."""
    records = []
    for family, (observed, first) in sorted(listing.items()):
        first_expiry = dict((_nft_key(item), _nft_expires(item)) for item in _nft_elements(first))
        for item in _nft_elements(observed):
            key = _nft_key(item)
            source, proto, value = key
            port, icmp_type, icmp_code = _port_and_icmp(proto, value)
            counter = item.get("elem", {}).get("counter") or {}
            last = now - (TIMEOUT - _nft_expires(item))
            first_seen = now - (TIMEOUT - first_expiry[key]) if key in first_expiry else last
            records.append(_record(family, source, _protocol_name(proto), port, icmp_type, icmp_code,
                                   counter.get("packets", 0), counter.get("bytes", 0), first_seen, last))
    return records


def _nft_elements(document):
    for item in json.loads(document or "{}").get("nftables", []):
        for element in (item.get("set") or {}).get("elem", []):
            yield element if isinstance(element, dict) and "elem" in element else {"elem": {"val": element}}


def _nft_key(item):
    source, proto, value = item["elem"]["val"]["concat"]
    return source, proto, value


def _nft_expires(item):
    return int(item["elem"].get("expires", TIMEOUT))


def _record(family, source, proto, port, icmp_type, icmp_code, packets, bytes_, first_seen, last_seen):
    return {"family": family, "source": source, "proto": proto, "port": port, "icmp_type": icmp_type,
            "icmp_code": icmp_code, "packets": int(packets), "bytes": int(bytes_),
            "first_seen": int(first_seen), "last_seen": int(last_seen)}


# ---------------------------------------------------------------- iptables


def ipset_names(family):
    return IPSET_FIRST + IPSET_SUFFIX[family], IPSET_LAST + IPSET_SUFFIX[family]


def is_record_set(name):
    return name.startswith(IPSET_FIRST + "-") or name.startswith(IPSET_LAST + "-")


def ipset_create_lines(family):
    first, last = ipset_names(family)
    # room for SIZE entries from the start: the kernel does not grow a hash set from the packet path
    common = "hash:ip,port family %s hashsize %d maxelem %d timeout %d" % (IPSET_FAMILY[family], HASHSIZE, SIZE, TIMEOUT)
    return ["create %s %s counters" % (first, common), "create %s %s" % (last, common)]


def iptables_rules(matches, family):
    """The record rules placed before a verdict, with that verdict's own matches (may be '')."""
    first, last = ipset_names(family)
    head = (matches + " " if matches else "")
    return ["%s-m set --match-set %s src,dst %s" % (head, first, IPTABLES_COMMENT),
            "%s%s -j SET --add-set %s src,dst" % (head, IPTABLES_COMMENT, first),
            "%s%s -j SET --add-set %s src,dst --exist" % (head, IPTABLES_COMMENT, last)]


def ipset_records(save_text, now):
    """`ipset save` of our record sets -> records."""
    entries = {}
    for line in (save_text or "").splitlines():
        parts = line.split()
        if len(parts) < 3 or parts[0] != "add" or not is_record_set(parts[1]):
            continue
        options = dict(zip(parts[3::2], parts[4::2]))
        family = "ipv6" if parts[1].endswith(IPSET_SUFFIX["ipv6"]) else "ipv4"
        entry = entries.setdefault((family, parts[2]), {})
        expiry = int(options.get("timeout", TIMEOUT))
        if parts[1].startswith(IPSET_FIRST + "-"):
            entry.update(first=now - (TIMEOUT - expiry), packets=options.get("packets", 0), bytes=options.get("bytes", 0))
        else:
            entry["last"] = now - (TIMEOUT - expiry)
    records = []
    for (family, member), entry in sorted(entries.items()):
        if "first" not in entry:
            continue                      # its first entry expired: the count is gone with it
        source, rest = member.rsplit(",", 1)
        proto, _sep, value = rest.partition(":")
        port, icmp_type, icmp_code = _ipset_port(proto, value)
        records.append(_record(family, source, _protocol_name(proto), port, icmp_type, icmp_code, entry["packets"],
                               entry["bytes"], entry["first"], entry.get("last", entry["first"])))
    return records


# ipset prints the ICMP types it has a name for by name (and the others as type/code)
ICMP_NAMES = {
    "icmp": {"echo-reply": (0, 0), "network-unreachable": (3, 0), "host-unreachable": (3, 1),
             "protocol-unreachable": (3, 2), "port-unreachable": (3, 3), "fragmentation-needed": (3, 4),
             "source-route-failed": (3, 5), "network-unknown": (3, 6), "host-unknown": (3, 7),
             "network-prohibited": (3, 9), "host-prohibited": (3, 10), "TOS-network-unreachable": (3, 11),
             "TOS-host-unreachable": (3, 12), "communication-prohibited": (3, 13),
             "host-precedence-violation": (3, 14), "precedence-cutoff": (3, 15), "source-quench": (4, 0),
             "network-redirect": (5, 0), "host-redirect": (5, 1), "TOS-network-redirect": (5, 2),
             "TOS-host-redirect": (5, 3), "echo-request": (8, 0), "router-advertisement": (9, 0),
             "router-solicitation": (10, 0), "ttl-zero-during-transit": (11, 0),
             "ttl-zero-during-reassembly": (11, 1), "ip-header-bad": (12, 0),
             "required-option-missing": (12, 1), "timestamp-request": (13, 0), "timestamp-reply": (14, 0),
             "address-mask-request": (17, 0), "address-mask-reply": (18, 0)},
    "icmpv6": {"no-route": (1, 0), "communication-prohibited": (1, 1), "address-unreachable": (1, 3),
               "port-unreachable": (1, 4), "packet-too-big": (2, 0), "ttl-zero-during-transit": (3, 0),
               "ttl-zero-during-reassembly": (3, 1), "bad-header": (4, 0), "unknown-header-type": (4, 1),
               "unknown-option": (4, 2), "echo-request": (128, 0), "echo-reply": (129, 0),
               "router-solicitation": (133, 0), "router-advertisement": (134, 0),
               "neighbour-solicitation": (135, 0), "neighbour-advertisement": (136, 0), "redirect": (137, 0)},
}


def _ipset_port(proto, value):
    if proto in ("icmp", "icmpv6"):
        if value in ICMP_NAMES[proto]:
            icmp_type, icmp_code = ICMP_NAMES[proto][value]
            return None, icmp_type, icmp_code
        kind, _sep, code = value.partition("/")
        return None, int(kind), int(code or 0)
    if proto in PORT_PROTOCOLS:
        return int(value), None, None
    return None, None, None


def add_hits(hits, comment, packets, bytes_):
    """Add one rule's counters to {comment: {"rule", "packets", "bytes"}} (rules sharing a comment add up)."""
    entry = hits.setdefault(comment, {"rule": comment, "packets": 0, "bytes": 0})
    entry["packets"] += int(packets)
    entry["bytes"] += int(bytes_)
