# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet's flow records (what flow_records read on each node) -> who tried to reach what,
with sources mapped to inventory hosts and groups; and the whitelist entries that would admit
it. Pure: the playbook (playbooks/observe.yml) reads the nodes and writes the files.

observed.json's schema (FORMAT):
  {"format": 1, "generated": Unix time,
   "nodes": {host: {"backend", "records" (flow_records' records, each with "host" and "groups"
             of its source), "rule_hits", "unused_rules" (comments of our rules no packet hit),
             "bound"}},
   "flows": [{"destination": host, "proto", "port", "icmp_type", "icmp_code", "packets",
              "bytes", "first_seen", "last_seen",
              "sources": [{"address", "host" (or null), "groups", "packets", "bytes",
                           "first_seen", "last_seen"}]}]   most packets first,
   "groups": {group: the flows to its members joined (by_group)}}
"""

from __future__ import annotations

import ipaddress

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.catalog import PROTOCOLS
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.errors import PlanError
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.ports import format_ports, merge_ranges, parse_ports

FORMAT = 1
PORT_PROTOCOLS = ("tcp", "udp", "sctp")      # the protocols a whitelist entry gives ports for
SKIPPED_GROUPS = ("all", "ungrouped")


def _address_map(hosts):
    """address -> inventory host (the first host that has it)."""
    found = {}
    for name in sorted(hosts):
        for address in hosts[name].get("addresses") or []:
            found.setdefault(str(ipaddress.ip_address(str(address))), name)
    return found


def _groups_of(groups):
    member_of = {}
    for group, members in sorted(groups.items()):
        if group in SKIPPED_GROUPS:
            continue
        for host in members:
            member_of.setdefault(host, []).append(group)
    return member_of


def fleet_observation(nodes, hosts, groups, generated):
    """nodes: {host: flow_records' result}; hosts: {host: {"addresses": [...]}} for the whole
    inventory; groups: Ansible's groups. -> observed.json's content."""
    owner = _address_map(hosts)
    member_of = _groups_of(groups)
    result = {"format": FORMAT, "generated": int(generated), "nodes": {}, "flows": []}
    flows = {}
    for node, read in sorted(nodes.items()):
        records = []
        for record in read.get("records") or []:
            source = str(ipaddress.ip_address(record["source"]))
            host = owner.get(source)
            records.append(dict(record, source=source, host=host, groups=member_of.get(host, [])))
            key = (node, record["proto"], record["port"], record["icmp_type"], record["icmp_code"])
            flow = flows.setdefault(key, {"destination": node, "proto": record["proto"], "port": record["port"],
                                          "icmp_type": record["icmp_type"], "icmp_code": record["icmp_code"],
                                          "packets": 0, "bytes": 0, "first_seen": record["first_seen"],
                                          "last_seen": record["last_seen"], "sources": []})
            flow["packets"] += record["packets"]
            flow["bytes"] += record["bytes"]
            flow["first_seen"] = min(flow["first_seen"], record["first_seen"])
            flow["last_seen"] = max(flow["last_seen"], record["last_seen"])
            flow["sources"].append({"address": source, "host": host, "groups": member_of.get(host, []),
                                    "packets": record["packets"], "bytes": record["bytes"],
                                    "first_seen": record["first_seen"], "last_seen": record["last_seen"]})
        hits = read.get("rule_hits") or []
        result["nodes"][node] = {
            "backend": read.get("backend"),
            "records": sorted(records, key=lambda item: (-item["packets"], item["source"], item["proto"], item["port"] or 0)),
            "rule_hits": hits,
            "unused_rules": sorted(hit["rule"] for hit in hits if not int(hit["packets"])),
            "bound": read.get("bound") or {},
        }
    for flow in flows.values():
        flow["sources"].sort(key=lambda item: (-item["packets"], item["address"]))
    result["flows"] = sorted(flows.values(), key=lambda flow: (-flow["packets"], flow["destination"], flow["proto"],
                                                               flow["port"] or 0, flow["icmp_type"] or 0))
    result["groups"] = by_group(result["flows"], groups)
    return result


def by_group(flows, groups):
    """{group: [{"proto", "port", "icmp_type", "icmp_code", "packets", "destinations", "sources"}]}:
    the flows to the group's members, joined across them (most packets first)."""
    result = {}
    for group, members in sorted(groups.items()):
        if group in SKIPPED_GROUPS:
            continue
        members = set(members)
        joined = {}
        for flow in flows:
            if flow["destination"] not in members:
                continue
            key = (flow["proto"], flow["port"], flow["icmp_type"], flow["icmp_code"])
            entry = joined.setdefault(key, {"proto": flow["proto"], "port": flow["port"], "icmp_type": flow["icmp_type"],
                                            "icmp_code": flow["icmp_code"], "packets": 0, "destinations": set(),
                                            "sources": set()})
            entry["packets"] += flow["packets"]
            entry["destinations"].add(flow["destination"])
            entry["sources"].update(source["address"] for source in flow["sources"])
        for entry in joined.values():
            entry["destinations"] = sorted(entry["destinations"])
            entry["sources"] = sorted(entry["sources"])
        if joined:
            result[group] = sorted(joined.values(), key=lambda entry: (-entry["packets"], entry["proto"], entry["port"] or 0))
    return result


# ------------------------------------------------------------------ the suggested whitelist


def _resolve(values, hosts, groups, where):
    """A 'from' list (addresses, CIDRs, inventory groups or hosts) -> networks; None: any source."""
    if values in (None, "", []):
        return None
    networks = []
    for value in [values] if isinstance(values, str) else values:
        value = str(value)
        names = groups.get(value) or ([value] if value in hosts else None)
        if names is not None:
            networks += [ipaddress.ip_network(str(address)) for name in names
                         for address in hosts.get(name, {}).get("addresses") or []]
            continue
        try:
            networks.append(ipaddress.ip_network(value, strict=False))
        except ValueError:
            raise PlanError("%s: %r is not an address, a CIDR, an inventory group or a host" % (where, value))
    return networks


def _entry_matches(entry, flow, where):
    """Does a white/blacklist entry's port and protocol cover the flow's?"""
    has_port = entry.get("port") not in (None, "", [])
    proto = str(entry.get("proto") or ("tcp" if has_port else "all"))
    if proto != "all" and proto != flow["proto"]:
        return False
    if not has_port:
        return True
    if flow["port"] is None:
        return False
    return any(low <= flow["port"] <= high for low, high in parse_ports(entry["port"], where + ".port"))


def prepared(entries, hosts, groups, variable):
    """A white- or blacklist -> [(where, entry, networks or None for any source)], resolved once."""
    rules = []
    for index, entry in enumerate(entries or []):
        if isinstance(entry, dict):
            where = "%s[%d]" % (variable, index)
            rules.append((where, entry, _resolve(entry.get("from"), hosts, groups, where + ".from")))
    return rules


def covered(address, flow, rules):
    """The first of `rules` (prepared()) that covers this source and flow, or None."""
    ip = ipaddress.ip_address(address)
    for where, entry, networks in rules:
        if not _entry_matches(entry, flow, where):
            continue
        if networks is None or any(ip.version == network.version and ip in network for network in networks):
            return where
    return None


def generalise(seen_hosts, addresses, groups):
    """Sources -> a 'from' list: the largest inventory groups whose every member was seen (two
    members or more), then the hosts left, then the other addresses as the smallest CIDRs."""
    seen = set(seen_hosts)
    chosen, left = [], set(seen)
    candidates = sorted(((group, set(members)) for group, members in groups.items()
                         if group not in SKIPPED_GROUPS and len(set(members)) >= 2 and set(members) <= seen),
                        key=lambda item: (-len(item[1]), item[0]))
    for group, members in candidates:
        if members & left:
            chosen.append(group)
            left -= members
    networks = []
    for version in (4, 6):
        family = [ipaddress.ip_network(address) for address in addresses if ipaddress.ip_address(address).version == version]
        networks += [str(network) for network in ipaddress.collapse_addresses(family)]
    return chosen + sorted(left) + networks


def suggestions(observed, hosts, groups):
    """{destination host: [entries]}: each entry a microseg_whitelist item ("port", "proto",
    "from", "comment") with its evidence ("packets", "sources", "first_seen", "last_seen",
    "left_out": blacklisted sources). Sources the host's microseg_whitelist already admits or
    its microseg_blacklist names are left out."""
    result, index = {}, {}
    resolved = {}
    for flow in observed["flows"]:
        node = flow["destination"]
        settings = hosts.get(node, {})
        key = flow["proto"]
        if key not in PROTOCOLS or (flow["proto"] in PORT_PROTOCOLS and flow["port"] is None):
            continue                 # no whitelist entry can say it (the report still shows it)
        if node not in resolved:
            resolved[node] = (prepared(settings.get("blacklist"), hosts, groups, "microseg_blacklist"),
                              prepared(settings.get("whitelist"), hosts, groups, "microseg_whitelist"))
        blacklist, whitelist = resolved[node]
        kept, left_out = [], []
        for source in flow["sources"]:
            if covered(source["address"], flow, blacklist):
                left_out.append(source["address"])
            elif not covered(source["address"], flow, whitelist):
                kept.append(source)
        if not kept:
            continue
        entries = result.setdefault(node, [])
        port = flow["port"] if flow["proto"] in PORT_PROTOCOLS else None
        same = index.get((node, key, port))
        if same is None:
            same = {"port": port, "proto": key, "sources": [], "packets": 0, "first_seen": flow["first_seen"],
                    "last_seen": flow["last_seen"], "left_out": []}
            entries.append(same)
            index[node, key, port] = same
        same["sources"] += kept
        same["packets"] += sum(source["packets"] for source in kept)
        same["first_seen"] = min(same["first_seen"], min(source["first_seen"] for source in kept))
        same["last_seen"] = max(same["last_seen"], max(source["last_seen"] for source in kept))
        same["left_out"] = sorted(set(same["left_out"] + left_out))
    for node, entries in result.items():
        for entry in entries:
            hosts_seen = sorted(set(source["host"] for source in entry["sources"] if source["host"]))
            others = sorted(set(source["address"] for source in entry["sources"] if not source["host"]))
            entry["from"] = generalise(hosts_seen, others, groups)
            entry["seen_from"] = hosts_seen + others
            del entry["sources"]
        result[node] = sorted(join_ports(entries), key=lambda entry: (-entry["packets"], entry["proto"], str(entry["port"])))
    return result


def join_ports(entries):
    """Entries of one node with the same protocol and sources -> one entry, their ports joined
    ("8080" stays a number; several become "8080,9000-9002"); "ports" counts them."""
    joined = {}
    for entry in entries:
        key = (entry["proto"], tuple(entry["from"]), entry["port"] is None)
        same = joined.get(key)
        if same is None:
            joined[key] = dict(entry, ranges=[] if entry["port"] is None else [(entry["port"], entry["port"])])
            continue
        same["ranges"] += [] if entry["port"] is None else [(entry["port"], entry["port"])]
        same["packets"] += entry["packets"]
        same["first_seen"] = min(same["first_seen"], entry["first_seen"])
        same["last_seen"] = max(same["last_seen"], entry["last_seen"])
        same["left_out"] = sorted(set(same["left_out"] + entry["left_out"]))
        same["seen_from"] = sorted(set(same["seen_from"] + entry["seen_from"]))
    for entry in joined.values():
        ranges = merge_ranges(entry.pop("ranges"))
        entry["ports"] = sum(high - low + 1 for low, high in ranges)
        if ranges and entry["ports"] > 1:
            entry["port"] = ",".join(format_ports(ranges))
    return list(joined.values())
