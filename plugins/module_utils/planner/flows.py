# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan's flows: the catalog's rows, the user's white- and blacklist, what every host needs,
the service-mode guards; merged and ordered (their conflicts: planner/conflicts.py)."""

from __future__ import annotations

from ansible_collections.microseg.cluster_firewall.plugins.module_utils import catalog
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.addresses import FAMILIES, family_of
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.errors import PlanError
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.inputs import (
    ANY,
    BLACKLIST_ACTION,
    PHASES,
    RULE_KEYS,
    STATE_ACTION,
    var,
)
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.ports import (
    format_ports,
    is_ascii_number,
    merge_ranges,
    parse_ports,
)


def _flow(phase, action, proto, ports, sources, families, why, icmp_types=None, match=None, destinations=()):
    """destinations: set names the packet must be addressed to (empty: any address of the node)."""
    return {
        "phase": phase,
        "action": action,
        "match": match,
        "proto": proto,
        "ports": ports,
        "icmp_types": tuple(icmp_types or ()),
        "sources": sources,
        "destinations": tuple(destinations),
        "families": set(families),
        "why": list(why),
    }


def _sources(names):
    """A collection of set names and/or ANY -> ANY or a sorted tuple of names."""
    names = set(names)
    return ANY if ANY in names else tuple(sorted(names))


def catalog_flows(node, policy, sets):
    """Whitelist flows from the catalog rows the node's roles and features turn on."""
    flows, notes = [], []
    features = set(node["features"])
    if not policy["nodeport"]:
        features.discard("k8s_nodeport")
    for entry in catalog.entries_for(features):
        if entry.proto is None:
            notes.append({"id": entry.id, "text": entry.why, "source": entry.source})
            continue
        why = {"id": entry.id, "text": entry.why, "source": entry.source}
        ports = None
        if entry.port is not None:
            if entry.port_key in node["ports"]:
                ports = node["ports"][entry.port_key]
                why["port"] = "%s (%s)" % (",".join(format_ports(ports)),
                                           node["port_origins"].get(entry.port_key, "node setting"))
            else:
                ports = parse_ports(entry.port, entry.id)
                why["port"] = "%s (catalog default)" % ",".join(format_ports(ports))
        peers = [sets.peer(peer) for peer in entry.peers]
        if entry.restricted_by and policy[entry.restricted_by]:
            peers = restricted_peers(entry, node, policy, sets)
        if entry.extended_by and policy[entry.extended_by]:
            peers.append(sets.user_sources(policy[entry.extended_by], var(entry.extended_by), entry.extended_by))
        sources = _sources(peers)
        families = set(entry.families or catalog.PROTOCOLS[entry.proto][1])
        icmp_types = (entry.icmp_type,) if entry.icmp_type is not None else ()
        destinations = (sets.destination(entry.to),) if entry.to else ()
        flows.append(_flow("whitelist", "accept", entry.proto, ports, sources, families, [why], icmp_types,
                           destinations=destinations))
    if policy["trust_pod_network"]:
        flows.append(trusted_pod_network_flow(sets))
    for variable in sorted(set(entry.extended_by for entry in catalog.ENTRIES if entry.extended_by)):
        rows = [entry.id for entry in catalog.ENTRIES if entry.extended_by == variable]
        if policy[variable] and not any(entry.id in rows for entry in catalog.entries_for(features)):
            sets.warn("%s is set, but this node runs none of %s: nothing is admitted from it here"
                      % (var(variable), ", ".join(rows)))
    return flows, notes


TRUST_POD_NETWORK_WHY = {"id": "trust_pod_network", "source": var("trust_pod_network"),
                         "text": "microseg_trust_pod_network: the pod network is trusted on every port "
                                 "(as k3s advises firewalld and ufw users)"}


def trusted_pod_network_flow(sets):
    """microseg_trust_pod_network: every packet from the pod CIDRs (whatever the scope: the user
    trusts those networks, not any source). Not a guard in service mode: it trusts, it guards nothing."""
    return _flow("whitelist", "accept", "all", None, _sources([sets.pod_network()]), FAMILIES,
                 [dict(TRUST_POD_NETWORK_WHY)])


def restricted_peers(entry, node, policy, sets):
    """A row open to any source that the user restricts (entry.restricted_by, e.g. apiserver_from):
    the user's sources, the node itself, the cluster's nodes and the pod network (pods reach it).
    Scope port opens the cluster's flows to any source, but the restriction is the user's own and
    stays: the inventory's nodes stand for "the cluster" there."""
    variable = var(entry.restricted_by)
    if policy["scope"] == "port":
        cluster = sets.node_peers(catalog.PEER_CLUSTER)
        sets.warn("scope port with %s: %s stays restricted to %s, the inventory's cluster nodes and the pod network; "
                  "add nodes outside the inventory to %s" % (variable, entry.id, variable, variable))
    else:
        cluster = sets.peer(catalog.PEER_CLUSTER)
    clients = sets.user_sources(policy[entry.restricted_by], variable, entry.restricted_by.replace("_from", "_clients"))
    return [clients, sets.peer(catalog.PEER_SELF), cluster, sets.pod_network()]


def _parse_proto(value, where):
    if isinstance(value, bool):
        raise PlanError("%s: %r is not a protocol" % (where, value))
    if isinstance(value, int) or is_ascii_number(value):
        number = int(value)
        if not 0 <= number <= 255:
            raise PlanError("%s: protocol number %d is out of range; allowed: 1-254 or a name (%s)"
                            % (where, number, ", ".join(catalog.PROTOCOLS)))
        if number in catalog.UNMATCHABLE_PROTOCOLS:
            raise PlanError("%s: protocol %d (%s) cannot be matched alike by iptables and nftables; allowed: "
                            "a protocol number other than %s, or a name (%s)"
                            % (where, number, catalog.UNMATCHABLE_PROTOCOLS[number],
                               ", ".join(str(n) for n in sorted(catalog.UNMATCHABLE_PROTOCOLS)),
                               ", ".join(catalog.PROTOCOLS)))
        return catalog.PROTOCOL_NUMBERS.get(number, str(number))
    if isinstance(value, str) and value.strip().lower() in catalog.PROTOCOLS:
        return value.strip().lower()
    raise PlanError("%s: %r is not a known protocol; allowed: %s or a number 1-254"
                    % (where, value, ", ".join(catalog.PROTOCOLS)))


def _proto_families(proto):
    return set(catalog.PROTOCOLS[proto][1]) if proto in catalog.PROTOCOLS else set(FAMILIES)


def _proto_takes_ports(proto):
    return proto in catalog.PROTOCOLS and catalog.PROTOCOLS[proto][2]


def user_flows(kind, policy, sets):
    """microseg_whitelist / microseg_blacklist items -> flows (validated)."""
    variable = var(kind)
    action = "accept" if kind == "whitelist" else BLACKLIST_ACTION[policy["blacklist_state"]]
    flows = []
    for index, item in enumerate(policy[kind]):
        where = "%s[%d]" % (variable, index)
        if not isinstance(item, dict):
            raise PlanError("%s: %r must be a dict with keys %s" % (where, item, ", ".join(RULE_KEYS)))
        unknown = sorted(set(item) - set(RULE_KEYS))
        if unknown:
            raise PlanError("%s: unknown key(s) %s; allowed: %s" % (where, ", ".join(unknown), ", ".join(RULE_KEYS)))
        has_port = item.get("port") not in (None, "", [])
        proto = _parse_proto(item.get("proto", "tcp" if has_port else "all"), where + ".proto")
        ports = None
        if has_port:
            if not _proto_takes_ports(proto):
                raise PlanError("%s.port: protocol %s has no ports; ports need tcp, udp or sctp" % (where, proto))
            ports = parse_ports(item["port"], where + ".port")
        if item.get("comment") is not None and not isinstance(item["comment"], str):
            raise PlanError("%s.comment: %r must be a string" % (where, item["comment"]))
        sources = _sources([sets.user_sources(item.get("from"), where + ".from")])
        families = _proto_families(proto)
        if sources != ANY:
            families = _check_families(proto, families, sets.families(sources), where, sets)
        if ports is None and sources == ANY and (proto == "all" or _proto_takes_ports(proto)):
            raise PlanError("%s: no port and no 'from': it would match all %s traffic from anywhere; "
                            "give a port, a 'from' or both" % (where, proto))
        if kind == "whitelist" and policy["mode"] == "service" and ports is None and (
                proto == "all" or _proto_takes_ports(proto)):
            raise PlanError("%s: no port: service mode guards ports, so a %s entry needs a port "
                            "(use microseg_mode: host to trust a source on every port)" % (where, proto))
        why = {"id": where, "text": item.get("comment") or "user %s" % kind, "source": variable}
        flows.append(_flow(kind, action, proto, ports, sources, families, [why]))
    return flows


def _check_families(proto, families, source_families, where, sets):
    """A protocol of one family with sources of the other admits nobody: refuse it; sources of
    both families where the protocol has one: say that one family's sources are left out."""
    if not source_families or source_families <= families:
        return families
    other = "icmpv6" if proto == "icmp" else "icmp" if proto == "icmpv6" else None
    hint = "; use proto %s for those" % other if other else ""
    if not source_families & families:
        raise PlanError("%s: proto %s exists in %s only, but every source in 'from' is %s: the rule would match "
                        "nothing%s" % (where, proto, "/".join(sorted(families)), "/".join(sorted(source_families)), hint))
    sets.warn("%s: proto %s exists in %s only: the %s sources in 'from' are left out%s"
              % (where, proto, "/".join(sorted(families)), "/".join(sorted(source_families - families)), hint))
    return families


ESSENTIAL_ICMP_AHEAD = ("admitted ahead of the blacklist: a blacklist of icmp or icmpv6 cannot cut neighbour "
                        "discovery or path MTU discovery")


def essential_icmp_flows():
    """The essential ICMP types (catalog.ICMP_ESSENTIAL), in phase base: ahead of the blacklist,
    so that no blacklist entry (a whole protocol icmpv6, a source's every protocol) cuts IPv6
    neighbour discovery, MLD or path MTU discovery. Without neighbour discovery a node loses
    IPv6 altogether, SSH included; only these types are admitted there, echo and the rest stay
    the blacklist's to drop."""
    match, text, source = next(item for item in catalog.ESSENTIAL_MATCHES if item[0] == "icmp_essential")
    why = [{"id": match, "text": "%s; %s" % (text, ESSENTIAL_ICMP_AHEAD), "source": source}]
    return [_flow("base", "accept", "icmp", None, ANY, ["ipv4"], why, catalog.ICMP_ESSENTIAL["ipv4"]),
            _flow("base", "accept", "icmpv6", None, ANY, ["ipv6"], why, catalog.ICMP_ESSENTIAL["ipv6"])]


def base_flows(node, sets, management_access=True):
    """Always first: loopback and the essential ICMP types, then the management SSH path (unless
    the user opted out with management_access false), in every family the node may be reached in."""
    flows = []
    for match, text, source in catalog.BASE_MATCHES:
        flows.append(_flow("base", "accept", None, None, ANY, FAMILIES, [{"id": match, "text": text, "source": source}],
                           match=match))
    flows += essential_icmp_flows()
    if not management_access:
        sets.warn("%s is false: the SSH path of the Ansible connection is not admitted by this plan; only the "
                  "commit-confirm rollback protects the connection" % var("management_access"))
        return flows
    entry = catalog.MANAGEMENT_SSH
    why = {"id": entry.id, "text": entry.why, "source": entry.source,
           "port": "%d (%s)" % (node["ssh_port"][0], node["ssh_origin"])}
    management = sets.management()
    flows.append(_flow("management", "accept", "tcp", [node["ssh_port"]], _sources([management]), FAMILIES, [why]))
    if management != ANY:
        # A family the node can be reached in but no management source is in would end in the
        # state's action with no way in: there the SSH port is admitted from any source.
        reached = set(family_of(address) for address in node["addresses"]) or set(FAMILIES)
        if node["controller"] is not None:
            reached.add(family_of(node["controller"]))
        # That fallback passes the SSH port on (return), it does not accept it: the host's own
        # firewall (ufw after our jump, firewalld's zones) keeps deciding who reaches SSH in that
        # family, so the fallback never opens SSH to a whole family the host restricted.
        uncovered = sorted(reached - sets.families([management]))
        if uncovered:
            sets.warn("no management source in %s (microseg_management_cidrs, controller address): SSH port %d from "
                      "%s sources is passed on to the host's own firewall (neither admitted nor dropped by this plan) "
                      "so the node stays reachable; add a management CIDR of that family"
                      % ("/".join(uncovered), node["ssh_port"][0], "/".join(uncovered)))
            fallback = dict(why, text="%s; no management source in %s: passed on to the host's own firewall"
                            % (entry.why, "/".join(uncovered)))
            flows.append(_flow("management", "return", "tcp", [node["ssh_port"]], ANY, uncovered, [fallback]))
    return flows


def essential_flows(node, policy):
    """After the blacklist: replies of admitted connections, what kube-proxy/Docker DNAT'ed
    (less the NodePorts, when they are closed in host mode), DHCPv6 replies. (The essential ICMP
    types come before the blacklist: essential_icmp_flows.)"""
    flows = []
    for match, text, source in catalog.ESSENTIAL_MATCHES:
        why = [{"id": match, "text": text, "source": source}]
        if match == "icmp_essential":
            continue
        if match == "dhcpv6_client":
            flows.append(_flow("essential", "accept", "udp", [(catalog.DHCPV6_CLIENT["port"],) * 2], ANY, ["ipv6"],
                               why, match=match))
        else:
            flows.append(_flow("essential", "accept", None, None, ANY, FAMILIES, why, match=match))
        if match == "established" and node["roles"]:
            flows.extend(_closed_nodeports(node, policy))
            dnat, text, source = catalog.DNAT_MATCH
            flows.append(_flow("essential", "accept", None, None, ANY, FAMILIES,
                               [{"id": dnat, "text": text, "source": source}], match=dnat))
    return flows


def _closed_nodeports(node, policy):
    """microseg_nodeport false in host mode: a connection kube-proxy DNAT'ed from a NodePort to
    this node is not admitted by the DNAT rule either (it gets the state's action)."""
    if policy["nodeport"] or policy["mode"] != "host" or not node["roles"] & {"kube_control_plane", "kube_node"}:
        return []
    ports = node["ports"].get("nodeport_range") or parse_ports(catalog.default_port("nodeport_range"), "nodeport_range")
    why = [{"id": "nodeport_closed", "text": "microseg_nodeport is false: NodePort connections DNAT'ed to this node "
            "are not admitted", "source": var("nodeport"), "port": ",".join(format_ports(ports))}]
    return [_flow("essential", STATE_ACTION[policy["state"]], proto, ports, ANY, FAMILIES, why, match="dnat")
            for proto in ("tcp", "udp")]


def guard_flows(whitelist, action):
    """Service mode: a port (or portless protocol) with whitelist entries admits only them."""
    guarded = {}
    for flow in whitelist:
        if flow["proto"] == "all" and flow["ports"] is None:
            continue      # the pod network trusted, Services in IPVS mode: no port or protocol to guard
        key = (flow["proto"], flow["icmp_types"], flow["destinations"])
        entry = guarded.setdefault(key, {"ports": [], "whole": False, "families": set(), "why": []})
        if flow["ports"] is None:
            entry["whole"] = True
        else:
            entry["ports"].extend(flow["ports"])
        entry["families"] |= _proto_families(flow["proto"]) if flow["proto"] else set(FAMILIES)
    flows = []
    for (proto, icmp_types, destinations), entry in guarded.items():
        ports = None if entry["whole"] else merge_ranges(entry["ports"])
        why = [{"id": "service_mode_guard", "text": "service mode: other sources on these ports get the state's action",
                "source": "microseg_mode: service"}]
        flows.append(_flow("guard", action, proto, ports, ANY, entry["families"], why, icmp_types,
                           destinations=destinations))
    return flows


def pass_on_admitted(flows):
    """monitor and alert: what the plan admits is passed on (return), not accepted. They may
    count and log, never loosen: an accept in our chain (whose jump comes ahead of ufw's) or in
    our firewalld policy would admit what the host's own firewall drops. Passed on, each packet
    meets the host's rules as if we were not there; what the plan does not admit still reaches
    the state's counter or log line at the end of the chain."""
    return [dict(flow, action="return") if flow["action"] == "accept" else flow for flow in flows]


def merge_flows(flows):
    """Join flows that differ only in ports; drop exact duplicates; keep every reason."""
    merged = {}
    order = []
    for flow in flows:
        key = (flow["phase"], flow["action"], flow["match"], flow["proto"], flow["icmp_types"],
               flow["sources"], flow["destinations"], tuple(sorted(flow["families"])), flow["ports"] is None)
        if key not in merged:
            merged[key] = dict(flow, ports=None if flow["ports"] is None else list(flow["ports"]), why=[])
            order.append(key)
        target = merged[key]
        if flow["ports"] is not None:
            target["ports"] = merge_ranges(target["ports"] + list(flow["ports"]))
        for why in flow["why"]:
            if why not in target["why"]:
                target["why"].append(why)
    return [merged[key] for key in order]


def sort_key(flow):
    """Phases in evaluation order. Base, management and essential rules keep the order they were
    made in (established before the DNAT rules, NodePorts closed before the DNAT admit); within
    the other phases every rule has the same action,
    so a sorted order changes nothing but makes the plan independent of input order."""
    if flow["phase"] in ("base", "management", "essential"):
        return (PHASES.index(flow["phase"]),)
    sources = () if flow["sources"] == ANY else flow["sources"]
    return (PHASES.index(flow["phase"]), flow["proto"] or "", flow["icmp_types"],
            flow["ports"] or [], sources, flow["destinations"], sorted(flow["families"]))


def split_full_sets(flows, sets):
    """A source set that holds a whole family (0.0.0.0/0, ::/0) means any source of that family:
    hash:net ipsets cannot even hold it. Such a flow becomes, in that family, a flow from any
    source, and keeps its sets in the others."""
    result = []
    for flow in flows:
        full = set() if flow["sources"] == ANY else sets.full_families(flow["sources"]) & flow["families"]
        if not full:
            result.append(flow)
            continue
        result.append(dict(flow, sources=ANY, families=full))
        if flow["families"] - full:
            result.append(dict(flow, families=flow["families"] - full))
    return result


def export_flow(flow, sets):
    # A family in which every source (or destination) set is empty gets no rule: it would admit nobody.
    families = flow["families"] & sets.families([ANY] if flow["sources"] == ANY else flow["sources"])
    if flow["destinations"]:
        families &= sets.families(flow["destinations"])
    return {
        "phase": flow["phase"],
        "action": flow["action"],
        "match": flow["match"],
        "proto": flow["proto"],
        "ports": format_ports(flow["ports"]) if flow["ports"] is not None else [],
        "icmp_types": list(flow["icmp_types"]),
        "from": [] if flow["sources"] == ANY else list(flow["sources"]),
        "to": list(flow["destinations"]),
        "families": sorted(families),
        "why": flow["why"],
    }


# --------------------------------------------------------------------------- the plan
