# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan compiler: node roles + inventory + user policy -> one node's whitelist plan.

Pure functions on plain data. The plan is JSON-serialisable, deterministic (same input,
byte-identical output) and knows nothing of iptables or nft: backends render it.

Semantics (product guide, "cluster" section):
- the blacklist is evaluated first and its result is final: it drops in every whitelist state
  (microseg_blacklist_state can make a new blacklist count or log first), ahead of established
  connections and of traffic kube-proxy/Docker DNAT'ed; only loopback and the management SSH
  path come before it;
- no rule configured = everything passes;
- the whitelist's states: monitor counts, alert logs (rate limited) and lets through, block
  drops; only block drops what the whitelist does not admit;
- host mode: what the whitelist does not admit gets the state's action;
  service mode: a port with whitelist entries admits only their sources, other ports pass;
- scope of cluster flows: node_ip (the nodes' own addresses), cidr (trusted CIDRs), port (any).
"""

from __future__ import annotations

import hashlib
import json

from ansible_collections.microseg.cluster_firewall.plugins.module_utils import catalog
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.addresses import (
    FAMILIES,
    address_intervals,
    family_of,
    intervals_overlap,
    looks_like_address,
    merge_networks,
    parse_network,
)
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.errors import PlanError
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.ports import (
    format_ports,
    is_ascii_number,
    merge_ranges,
    parse_port_item,
    parse_ports,
    ranges_overlap,
)

PLAN_FORMAT = 1

STATES = ("monitor", "alert", "block")
MODES = ("service", "host")
SCOPES = ("node_ip", "cidr", "port")
STATE_ACTION = {"monitor": "monitor", "alert": "alert", "block": "drop"}
# A blacklist that only watches counts or logs and goes on: the packet then meets the whitelist.
BLACKLIST_ACTION = {"monitor": "count", "alert": "log", "block": "drop"}

# The policy variables, without their "microseg_" prefix, and their defaults.
# roles/whitelist/defaults/main.yml and meta/argument_specs.yml mirror these (a unit test checks).
DEFAULT_POLICY = {
    "state": "block",
    "mode": "service",
    "scope": "node_ip",
    "trusted_cidrs": [],
    "management_cidrs": [],
    "management_access": True,
    "whitelist": [],
    "blacklist": [],
    "nodeport": True,
    "apiserver_from": [],
    "blacklist_state": "block",
    "allow_missing_peers": False,
}
NODE_KEYS = ("name", "features", "ports", "port_origins", "pod_cidrs", "ssh_port", "controller_address")
RULE_KEYS = ("port", "proto", "from", "comment")
# Evaluation order: loopback, the management path, the blacklist (final), what every host needs
# (established, DNAT'ed, essential ICMP), the whitelist, the service-mode guards.
PHASES = ("base", "management", "blacklist", "essential", "whitelist", "guard")
ANY = "any"

# Set names that are not built from peer classes.
SET_TRUSTED = "trusted"
SET_POD_NETWORK = "pod_network"


def _var(key):
    return "microseg_" + key


def _choice(value, allowed, where):
    if not isinstance(value, str) or value not in allowed:
        raise PlanError("%s: %r is not allowed; allowed: %s" % (where, value, ", ".join(allowed)))
    return value


def _as_list(value, where):
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return list(value)
    raise PlanError("%s: %r must be a list" % (where, value))


def _short_list(names, limit=20):
    names = sorted(names)
    text = ", ".join(names[:limit])
    return text + (", ... (%d in all)" % len(names) if len(names) > limit else "")


# --------------------------------------------------------------------------- inputs


def normalise_policy(policy):
    """Validate the user policy and fill in defaults. Returns a new dict."""
    policy = dict(policy or {})
    unknown = sorted(set(policy) - set(DEFAULT_POLICY))
    if unknown:
        raise PlanError("unknown policy setting(s) %s; allowed: %s"
                        % (", ".join(_var(k) for k in unknown), ", ".join(_var(k) for k in DEFAULT_POLICY)))
    result = dict(DEFAULT_POLICY)
    result.update((key, value) for key, value in policy.items() if value is not None)
    _choice(result["state"], STATES, _var("state"))
    _choice(result["mode"], MODES, _var("mode"))
    _choice(result["scope"], SCOPES, _var("scope"))
    _choice(result["blacklist_state"], STATES, _var("blacklist_state"))
    for key in ("nodeport", "management_access", "allow_missing_peers"):
        if not isinstance(result[key], bool):
            raise PlanError("%s: %r must be true or false" % (_var(key), result[key]))
    for key in ("trusted_cidrs", "management_cidrs"):
        items = _as_list(result[key], _var(key))
        result[key] = [parse_network(item, "%s[%d]" % (_var(key), index)) for index, item in enumerate(items)]
    if result["scope"] == "cidr" and not result["trusted_cidrs"]:
        raise PlanError("%s: 'cidr' needs at least one CIDR in %s" % (_var("scope"), _var("trusted_cidrs")))
    for key in ("whitelist", "blacklist", "apiserver_from"):
        result[key] = _as_list(result[key], _var(key))
    return result


def normalise_inventory(inventory):
    """{"hosts": {name: {"addresses": [...], "roles": [...]}}, "groups": {...}} -> validated copy.

    A host without "roles" takes them from the inventory groups (catalog.ROLE_GROUPS). When no
    host runs etcd, control-plane hosts are taken to run it stacked (the kubeadm default).
    """
    if not isinstance(inventory, dict):
        raise PlanError("inventory: %r must be a dict with 'hosts' and 'groups'" % (inventory,))
    groups = inventory.get("groups") or {}
    raw_hosts = inventory.get("hosts") or {}
    if not isinstance(groups, dict) or not isinstance(raw_hosts, dict):
        raise PlanError("inventory: 'hosts' and 'groups' must be dicts")
    groups = dict((name, list(members or [])) for name, members in groups.items())
    group_roles = {}
    for role, group in catalog.ROLE_GROUPS.items():
        for host in groups.get(group, []):
            group_roles.setdefault(host, set()).add(role)
    hosts = {}
    for name, entry in raw_hosts.items():
        entry = entry or {}
        where = "inventory host %s" % name
        addresses = []
        for index, text in enumerate(_as_list(entry.get("addresses"), where + " addresses")):
            network = parse_network(text, "%s address[%d]" % (where, index))
            if network.size != 1:
                raise PlanError("%s: address %r is a network; a host address is a single IP" % (where, text))
            addresses.append(network)
        roles = entry.get("roles")
        roles = set(group_roles.get(name, ())) if roles is None else set(_as_list(roles, where + " roles"))
        for role in roles:
            _choice(role, catalog.ROLES, "%s: role" % where)
        cluster_ports = {}
        for key, value in (entry.get("cluster_ports") or {}).items():
            _choice(key, catalog.CLUSTER_WIDE_PORT_KEYS, "%s: cluster-wide port setting" % where)
            cluster_ports[key] = parse_ports(value, "%s: %s" % (where, key))
        hosts[name] = {"addresses": addresses, "roles": roles, "cluster_ports": cluster_ports,
                       "cluster_port_origins": dict(entry.get("cluster_port_origins") or {})}
    if not any("etcd" in host["roles"] for host in hosts.values()):
        for host in hosts.values():
            if "kube_control_plane" in host["roles"]:
                host["roles"].add("etcd")
    return {"hosts": hosts, "groups": groups}


def normalise_node(node, cluster):
    """The planned node: its name (in the inventory) and what was detected or configured on it."""
    if not isinstance(node, dict) or not node.get("name"):
        raise PlanError("node: %r must be a dict with at least 'name'" % (node,))
    unknown = sorted(set(node) - set(NODE_KEYS))
    if unknown:
        raise PlanError("node %s: unknown key(s) %s; allowed: %s" % (node["name"], ", ".join(unknown), ", ".join(NODE_KEYS)))
    name = node["name"]
    if name not in cluster.hosts:
        raise PlanError("node %s is not in the inventory (%d hosts)" % (name, len(cluster.hosts)))
    features = set(_as_list(node.get("features"), "node %s features" % name))
    for feature in features:
        _choice(feature, catalog.FEATURES, "node %s: feature (microseg_features)" % name)
    ports = {}
    for key, value in (node.get("ports") or {}).items():
        where = "node %s: port setting %s (microseg_ports)" % (name, key)
        _choice(key, catalog.PORT_KEYS, "node %s: port setting (microseg_ports)" % name)
        ports[key] = parse_ports(value, where)
    ssh_port = node.get("ssh_port")
    ssh_origin = "default" if ssh_port in (None, "") else "connection port"
    ssh_port = parse_port_item(22 if ssh_port in (None, "") else _int_or_text(ssh_port), "node %s: ssh_port" % name)
    if "ssh" in ports:
        ssh_port = ports.pop("ssh")[0]
        ssh_origin = (node.get("port_origins") or {}).get("ssh", "microseg_ports")
    controller = node.get("controller_address") or None
    if controller is not None:
        controller = parse_network(controller, "node %s: controller_address" % name)
    pod_cidrs = [parse_network(item, "node %s: pod_cidrs[%d]" % (name, index))
                 for index, item in enumerate(_as_list(node.get("pod_cidrs"), "node %s pod_cidrs" % name))]
    host = cluster.hosts[name]
    roles = set(host["roles"])
    origins = dict(node.get("port_origins") or {})
    warnings = []
    for key in catalog.CLUSTER_WIDE_PORT_KEYS:
        shared = cluster.cluster_port(key)
        if key not in ports and shared is not None:
            ports[key], origins[key], warning = shared
            if warning:
                warnings.append(warning)
    return {
        "name": name,
        "roles": roles,
        "features": features | catalog.features_of_roles(roles),
        "ports": ports,
        "port_origins": origins,
        "warnings": warnings,
        "ssh_port": ssh_port,
        "ssh_origin": ssh_origin,
        "controller": controller,
        "pod_cidrs": pod_cidrs,
        "addresses": host["addresses"],
    }


def _int_or_text(value):
    if is_ascii_number(value):
        return int(value)
    return value


# --------------------------------------------------------------------------- address sets


class Cluster(object):
    """The normalised inventory, and what every plan of one run shares, computed once: the
    addresses of each peer class and of each user 'from' list, their merged form and their
    intervals. Planning N nodes against one Cluster costs N small plans plus the shared sets
    once, where normalising the inventory for each node cost N x N."""

    def __init__(self, inventory):
        normal = normalise_inventory(inventory)
        self.hosts = normal["hosts"]
        self.groups = normal["groups"]
        self._memo = {}

    def memo(self, key, build):
        """build() once per key; a build that raises is not remembered."""
        if key not in self._memo:
            self._memo[key] = build()
        return self._memo[key]

    def role_networks(self, roles):
        """The addresses of the hosts with any of these roles, in inventory order."""
        roles = frozenset(roles)
        return self.memo(("roles", roles), lambda: [address for host in self.hosts.values() if roles & host["roles"]
                                                    for address in host["addresses"]])

    def unplaced(self, hosts):
        """Those of these hosts that have no known address: they cannot be placed in a set."""
        return sorted(name for name in hosts if not self.hosts.get(name, {}).get("addresses"))

    def role_hosts(self, roles):
        roles = frozenset(roles)
        return self.memo(("role_hosts", roles), lambda: [name for name, host in self.hosts.items()
                                                         if roles & host["roles"]])

    def outside(self, networks):
        """Cluster hosts (with a Kubernetes or swarm role) with an address outside these networks."""
        intervals = address_intervals(networks)
        found = []
        for name, host in sorted(self.hosts.items()):
            if host["roles"]:
                for address in host["addresses"]:
                    if not intervals_overlap(address_intervals([address]), intervals):
                        found.append("%s (%s)" % (name, address))
        return found

    def cluster_port(self, key):
        """A cluster-wide port setting read on some host: (ports, origin, warning or None), or None."""
        return self.memo(("cluster_port", key), lambda: self._find_cluster_port(key))

    def _find_cluster_port(self, key):
        found = [(name, entry["cluster_ports"][key]) for name, entry in sorted(self.hosts.items())
                 if key in entry["cluster_ports"]]
        if not found:
            return None
        other, ports = found[0]
        origin = "detected on %s (%s)" % (other, self.hosts[other]["cluster_port_origins"].get(key, "profile"))
        warning = None
        if len(set(tuple(value) for _host, value in found)) > 1:
            warning = ("%s differs between hosts (%s): using %s's"
                       % (key, ", ".join("%s=%s" % (h, ",".join(format_ports(v))) for h, v in found), other))
        return ports, origin, warning


class AddressSets(object):
    """The named address sets one plan refers to, built on demand. Sets made from the
    inventory alone carry a `shared` key: their derived forms are computed once per Cluster."""

    def __init__(self, cluster, node, policy):
        self.cluster = cluster
        self.node = node
        self.policy = policy
        self.sets = {}
        self.warnings = []
        self.missing = {}     # host -> the sets it could not be placed in (no known address)

    def _add(self, name, networks, why, shared=None):
        if "networks" not in self.sets.get(name, {}):
            self.sets.setdefault(name, {}).update(networks=networks, why=why, shared=shared)
        return name

    def _derived(self, name, kind, build):
        """merge / families / intervals of one set, shared across plans when the set is."""
        entry = self.sets[name]
        if entry["shared"] is None:
            if kind not in entry:
                entry[kind] = build(entry["networks"])
            return entry[kind]
        return self.cluster.memo((kind,) + entry["shared"], lambda: build(entry["networks"]))

    def peer(self, peer_class):
        """Peer class -> set name, or ANY. Cluster-node classes follow microseg_scope."""
        if peer_class == catalog.PEER_ANY:
            return ANY
        if peer_class == catalog.PEER_SELF:
            if not self.node["addresses"]:
                self.warn("node %s has no known address: the 'self' set only has loopback traffic"
                          % self.node["name"])
            return self._add("self", list(self.node["addresses"]), "this node's own addresses")
        if peer_class == catalog.PEER_MANAGEMENT:
            return self.management()
        scope = self.policy["scope"]
        if scope == "port":
            return ANY
        if scope == "cidr":
            return self.trusted()
        return self.node_peers(peer_class)

    def node_peers(self, peer_class):
        """The addresses of the inventory's hosts in a peer class (scope node_ip)."""
        roles = catalog.NODE_PEER_ROLES[peer_class]
        networks = self.cluster.role_networks(roles)
        self._note_missing(self.cluster.memo(("unplaced", peer_class),
                                             lambda: self.cluster.unplaced(self.cluster.role_hosts(roles))), peer_class)
        if not networks:
            self.warn("no address known for any host with role %s: set %s is empty"
                      % (" or ".join(sorted(roles)), peer_class))
        return self._add(peer_class, networks, "addresses of the hosts with role %s" % " or ".join(sorted(roles)),
                         shared=("peer", peer_class))

    def _note_missing(self, unplaced, set_name):
        for host in unplaced:
            if host != self.node["name"]:
                self.missing.setdefault(host, set()).add(set_name)

    def trusted(self):
        if SET_TRUSTED not in self.sets:
            trusted = self.policy["trusted_cidrs"]
            outside = self.cluster.memo(("outside", tuple(str(network) for network in trusted)),
                                        lambda: self.cluster.outside(trusted))
            if outside:
                self.warn("scope cidr: %s lie outside microseg_trusted_cidrs (%s): their cluster traffic is not "
                          "admitted" % (_short_list(outside), ", ".join(str(n) for n in self.policy["trusted_cidrs"])))
        return self._add(SET_TRUSTED, list(self.policy["trusted_cidrs"]), "microseg_trusted_cidrs (scope cidr)")

    def management(self):
        networks = list(self.policy["management_cidrs"])
        if self.node["controller"] is not None:
            networks.append(self.node["controller"])
        if not networks:
            self.warn("no management source known (microseg_management_cidrs empty, no controller address): "
                      "SSH port %d is admitted from any source" % self.node["ssh_port"][0])
            return ANY
        return self._add("management", networks, "microseg_management_cidrs and the Ansible controller")

    def pod_network(self):
        return self._add(SET_POD_NETWORK, self.node["pod_cidrs"], "the pod network (pods must reach the API server)")

    def user_sources(self, values, where, name=None):
        """A user 'from' list (addresses, CIDRs, inventory groups or hosts) -> set name or ANY.

        Unnamed lists get a name from their content, so equal lists share one set."""
        values = _as_list(values, where)
        if not values:
            return ANY
        shared = ("from", where, repr(values))
        networks, warnings, unplaced, values = self.cluster.memo(shared, lambda: self._resolve_sources(values, where))
        for warning in warnings:
            self.warn(warning)
        if name is None:
            name = self._content_name(values)
        self._note_missing(unplaced, name)
        return self._add(name, networks, "from: " + ", ".join(values), shared=shared)

    def _content_name(self, values):
        """A set name made from the (sorted, distinct) sources: equal lists share one set. The
        name is a prefix of a SHA-256 of them; where two different lists share a prefix, the
        later one takes a longer one (18 hex digits at most: ipset names hold 31 characters)."""
        digest = hashlib.sha256(json.dumps(values).encode("utf-8")).hexdigest()
        for length in range(8, 19):
            name = "from_" + digest[:length]
            taken = self.sets.get(name)
            if taken is None or taken.get("values") == values:
                self.sets.setdefault(name, {"values": values})
                return name
        raise PlanError("from: %s: no distinct set name found" % ", ".join(values))

    def _resolve_sources(self, values, where):
        """A user 'from' list -> (networks, warnings, hosts with no address, the distinct sources
        sorted); the same for every node."""
        networks, warnings, unplaced, seen = [], [], [], set()
        for index, value in enumerate(values):
            item_where = "%s[%d]" % (where, index)
            if not isinstance(value, str) or not value.strip():
                raise PlanError("%s: %r must be an address, a CIDR or an inventory group" % (item_where, value))
            value = value.strip()
            if value in seen:
                continue
            seen.add(value)
            if looks_like_address(value):
                networks.append(parse_network(value, item_where))
            elif value in self.cluster.groups:
                members = self.cluster.groups[value]
                found = [address for host in members for address in self.cluster.hosts.get(host, {}).get("addresses", [])]
                if not found:
                    warnings.append("%s: group %s has no host with a known address" % (item_where, value))
                networks.extend(found)
                unplaced.extend(self.cluster.unplaced(members))
            elif value in self.cluster.hosts:
                networks.extend(self.cluster.hosts[value]["addresses"])
                unplaced.extend(self.cluster.unplaced([value]))
            else:
                raise PlanError("%s: %r is neither an address/CIDR nor an inventory group or host; groups: %s"
                                % (item_where, value, _short_list(self.cluster.groups)))
        return networks, warnings, unplaced, sorted(seen)

    def warn(self, text):
        if text not in self.warnings:
            self.warnings.append(text)

    def families(self, names):
        """Families in which at least one of the sets has an entry (ANY: both)."""
        if ANY in names:
            return set(FAMILIES)
        found = set()
        for name in names:
            found |= self._derived(name, "families", lambda networks: set(family_of(network) for network in networks))
        return found

    def overlap(self, first, second):
        """True when an address of the sets `first` and one of the sets `second` meet."""
        return any(intervals_overlap(self._derived(left, "intervals", address_intervals),
                                     self._derived(right, "intervals", address_intervals))
                   for left in first for right in second)

    def full_families(self, names):
        """The families in which one of the sets holds every address (0.0.0.0/0 or ::/0)."""
        found = set()
        for name in names:
            merged = self._derived(name, "merged", merge_networks)
            found |= set(family for family in FAMILIES if merged[family] in (["0.0.0.0/0"], ["::/0"]))
        return found

    def export(self, used):
        """The used sets, merged. A whole family (0.0.0.0/0, ::/0) is left out of a set: the
        rules of that family match any source instead (split_full_sets)."""
        result = {}
        for name in sorted(used):
            merged = dict(self._derived(name, "merged", merge_networks))
            why = self.sets[name]["why"]
            for family in self.full_families([name]):
                merged[family] = []
                why += " (%s: every %s source, matched without the set)" % (family, family)
            result[name] = dict(merged, why=why)
        return result


# --------------------------------------------------------------------------- flows


def _flow(phase, action, proto, ports, sources, families, why, icmp_types=None, match=None):
    return {
        "phase": phase,
        "action": action,
        "match": match,
        "proto": proto,
        "ports": ports,
        "icmp_types": tuple(icmp_types or ()),
        "sources": sources,
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
        sources = _sources(peers)
        families = set(entry.families or catalog.PROTOCOLS[entry.proto][1])
        icmp_types = (entry.icmp_type,) if entry.icmp_type is not None else ()
        flows.append(_flow("whitelist", "accept", entry.proto, ports, sources, families, [why], icmp_types))
    return flows, notes


def restricted_peers(entry, node, policy, sets):
    """A row open to any source that the user restricts (entry.restricted_by, e.g. apiserver_from):
    the user's sources, the node itself, the cluster's nodes and the pod network (pods reach it).
    Scope port opens the cluster's flows to any source, but the restriction is the user's own and
    stays: the inventory's nodes stand for "the cluster" there."""
    variable = _var(entry.restricted_by)
    if policy["scope"] == "port":
        cluster = sets.node_peers(catalog.PEER_CLUSTER)
        sets.warn("scope port with %s: %s stays restricted to %s, the inventory's cluster nodes and the pod network; "
                  "add nodes outside the inventory to %s" % (variable, entry.id, variable, variable))
    else:
        cluster = sets.peer(catalog.PEER_CLUSTER)
    if not node["pod_cidrs"]:
        sets.warn("pod network unknown: pods reach %s only if their sources are in %s" % (entry.id, variable))
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
    variable = _var(kind)
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


def base_flows(node, sets, management_access=True):
    """Always first: loopback, then the management SSH path (unless the user opted out with
    management_access false), in every family the node may be reached in."""
    flows = []
    for match, text, source in catalog.BASE_MATCHES:
        flows.append(_flow("base", "accept", None, None, ANY, FAMILIES, [{"id": match, "text": text, "source": source}],
                           match=match))
    if not management_access:
        sets.warn("%s is false: the SSH path of the Ansible connection is not admitted by this plan; only the "
                  "commit-confirm rollback protects the connection" % _var("management_access"))
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
        uncovered = sorted(reached - sets.families([management]))
        if uncovered:
            sets.warn("no management source in %s (microseg_management_cidrs, controller address): SSH port %d is "
                      "admitted from any %s source so the node stays reachable; add a management CIDR of that "
                      "family" % ("/".join(uncovered), node["ssh_port"][0], "/".join(uncovered)))
            flows.append(_flow("management", "accept", "tcp", [node["ssh_port"]], ANY, uncovered, [why]))
    return flows


def essential_flows(node, policy):
    """After the blacklist: replies of admitted connections, what kube-proxy/Docker DNAT'ed
    (less the NodePorts, when they are closed in host mode), essential ICMP, DHCPv6 replies."""
    flows = []
    for match, text, source in catalog.ESSENTIAL_MATCHES:
        why = [{"id": match, "text": text, "source": source}]
        if match == "icmp_essential":
            flows.append(_flow("essential", "accept", "icmp", None, ANY, ["ipv4"], why, catalog.ICMP_ESSENTIAL["ipv4"]))
            flows.append(_flow("essential", "accept", "icmpv6", None, ANY, ["ipv6"], why,
                               catalog.ICMP_ESSENTIAL["ipv6"]))
        elif match == "dhcpv6_client":
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
            "are not admitted", "source": _var("nodeport"), "port": ",".join(format_ports(ports))}]
    return [_flow("essential", STATE_ACTION[policy["state"]], proto, ports, ANY, FAMILIES, why, match="dnat")
            for proto in ("tcp", "udp")]


def guard_flows(whitelist, action):
    """Service mode: a port (or portless protocol) with whitelist entries admits only them."""
    guarded = {}
    for flow in whitelist:
        key = (flow["proto"], flow["icmp_types"])
        entry = guarded.setdefault(key, {"ports": [], "whole": False, "families": set(), "why": []})
        if flow["ports"] is None:
            entry["whole"] = True
        else:
            entry["ports"].extend(flow["ports"])
        entry["families"] |= _proto_families(flow["proto"]) if flow["proto"] else set(FAMILIES)
    flows = []
    for (proto, icmp_types), entry in guarded.items():
        ports = None if entry["whole"] else merge_ranges(entry["ports"])
        why = [{"id": "service_mode_guard", "text": "service mode: other sources on these ports get the state's action",
                "source": "microseg_mode: service"}]
        flows.append(_flow("guard", action, proto, ports, ANY, entry["families"], why, icmp_types))
    return flows


def merge_flows(flows):
    """Join flows that differ only in ports; drop exact duplicates; keep every reason."""
    merged = {}
    order = []
    for flow in flows:
        key = (flow["phase"], flow["action"], flow["match"], flow["proto"], flow["icmp_types"],
               flow["sources"], tuple(sorted(flow["families"])), flow["ports"] is None)
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


def _sort_key(flow):
    """Phases in evaluation order. Base, management and essential rules keep the order they were
    made in (established before the DNAT rules, NodePorts closed before the DNAT admit); within
    the other phases every rule has the same action,
    so a sorted order changes nothing but makes the plan independent of input order."""
    if flow["phase"] in ("base", "management", "essential"):
        return (PHASES.index(flow["phase"]),)
    sources = () if flow["sources"] == ANY else flow["sources"]
    return (PHASES.index(flow["phase"]), flow["proto"] or "", flow["icmp_types"],
            flow["ports"] or [], sources, sorted(flow["families"]))


def _overlap(black, white, sets):
    """True when a blacklist flow and a whitelist flow can match the same packet."""
    if black["proto"] != "all" and white["proto"] != "all" and black["proto"] != white["proto"]:
        return False
    if black["ports"] is not None and white["ports"] is not None and not ranges_overlap(black["ports"], white["ports"]):
        return False
    if black["sources"] == ANY or white["sources"] == ANY:
        return True
    if sets is None:
        return False
    return sets.overlap(black["sources"], white["sources"])


def _describe(flow):
    ports = ",".join(format_ports(flow["ports"])) if flow["ports"] else "(every port)"
    sources = "any source" if flow["sources"] == ANY else "set(s) " + ", ".join(flow["sources"])
    return "%s %s from %s" % (flow["proto"], ports, sources)


def find_conflicts(blacklist, whitelist, management, sets):
    """Every whitelist flow a blacklist flow overrides, and every blacklisted source that keeps
    the management SSH path (which comes first), with both entries named; each once."""
    conflicts = []
    for black in blacklist:
        for white in whitelist:
            if _overlap(black, white, sets):
                conflicts.append({
                    "blacklist": [why["id"] for why in black["why"]],
                    "whitelist": [why["id"] for why in white["why"]],
                    "text": "the blacklist wins: %s overlaps the admitted %s" % (_describe(black), _describe(white)),
                })
        for path in management:
            if _overlap(black, path, sets):
                conflicts.append({
                    "blacklist": [why["id"] for why in black["why"]],
                    "whitelist": [why["id"] for why in path["why"]],
                    "text": "the management path comes first: %s overlaps the management SSH path (%s), so those "
                            "sources keep SSH; take them out of microseg_management_cidrs or the blacklist"
                            % (_describe(black), _describe(path)),
                })
    unique = []
    for conflict in conflicts:
        if conflict not in unique:
            unique.append(conflict)
    return unique


# Catalog rows that admit any source, and how to narrow them.
NARROWING = {
    "k8s_apiserver": "restrict it with microseg_apiserver_from",
    "k8s_nodeport_tcp": "set microseg_nodeport: false to admit NodePorts only from your own entries",
    "k8s_nodeport_udp": "set microseg_nodeport: false to admit NodePorts only from your own entries",
}


def find_overridden(catalog_flows_, user_whitelist, scope):
    """User whitelist entries with a 'from' on a port a catalog row admits from any source: the
    'from' narrows nothing there (either mode). One warning per entry and row."""
    warnings = []
    for user in user_whitelist:
        if user["sources"] == ANY:
            continue
        for row in catalog_flows_:
            if row["sources"] != ANY or not _overlap(row, user, None):
                continue
            row_id = row["why"][0]["id"]
            hint = NARROWING.get(row_id) or ("microseg_scope is port: the cluster's flows are open to any source"
                                             if scope == "port" else "that row is open to all sources by design")
            warnings.append("%s: %s is admitted from any source by %s, so this entry's 'from' restricts nothing "
                            "there; %s" % (user["why"][0]["id"], _describe(user), row_id, hint))
    return warnings


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


def _export_flow(flow, sets):
    # A family in which every source set is empty gets no rule: it would admit nobody.
    families = flow["families"] & sets.families([ANY] if flow["sources"] == ANY else flow["sources"])
    return {
        "phase": flow["phase"],
        "action": flow["action"],
        "match": flow["match"],
        "proto": flow["proto"],
        "ports": format_ports(flow["ports"]) if flow["ports"] is not None else [],
        "icmp_types": list(flow["icmp_types"]),
        "from": [] if flow["sources"] == ANY else list(flow["sources"]),
        "families": sorted(families),
        "why": flow["why"],
    }


# --------------------------------------------------------------------------- the plan


def _check_missing_peers(sets, policy):
    """Peers that could not be placed in a set (no known address) lose the flows the plan admits
    them: say which; with state block that cuts them, so the node's plan is refused unless the
    user accepts it (microseg_allow_missing_peers)."""
    if not sets.missing:
        return
    hosts = ["%s (%s)" % (host, ", ".join(sorted(names))) for host, names in sorted(sets.missing.items())]
    fix = ("give them microseg_node_addresses or an IP address as ansible_host, or gather their facts "
           "(with --limit, keep a fact cache)")
    if policy["state"] == "block" and not policy["allow_missing_peers"]:
        raise PlanError("%d peer(s) have no known address, so state block would cut what the plan admits them: %s; "
                        "%s, or set %s: true to apply without them"
                        % (len(hosts), _short_list(hosts), fix, _var("allow_missing_peers")))
    sets.warn("%d peer(s) have no known address and are left out of the sets: %s; %s"
              % (len(hosts), _short_list(hosts), fix))


def compile_plans(inputs, inventory):
    """Plan many nodes against one inventory, sharing the cluster-wide work: `inputs` is a list
    of {"node": ..., "policy": ...}; the result maps each node's name to {"plan": plan} or
    {"error": text}, so that one node's bad input stops that node only. A bad inventory stops
    all of them (PlanError)."""
    cluster = Cluster(inventory)
    result = {}
    for index, item in enumerate(inputs):
        if not isinstance(item, dict) or not isinstance(item.get("node"), dict):
            raise PlanError("inputs[%d]: %r must be a dict with 'node' and 'policy'" % (index, item))
        name = item["node"].get("name")
        if not name:
            raise PlanError("inputs[%d]: the node has no name: %r" % (index, item["node"]))
        try:
            result[name] = {"plan": compile_plan(item["node"], cluster, item.get("policy"))}
        except PlanError as error:
            result[name] = {"error": str(error)}
    return result


def compile_plan(node, inventory, policy):
    """Validate everything, then build one node's plan (a plain, JSON-serialisable dict).
    `inventory` is the planner inventory, or a Cluster made of it to plan many nodes."""
    policy = normalise_policy(policy)
    cluster = inventory if isinstance(inventory, Cluster) else Cluster(inventory)
    node = normalise_node(node, cluster)
    sets = AddressSets(cluster, node, policy)
    for warning in node["warnings"]:
        sets.warn(warning)

    whitelist, notes = catalog_flows(node, policy, sets)
    user_whitelist = user_flows("whitelist", policy, sets)
    for warning in find_overridden(whitelist, user_whitelist, policy["scope"]):
        sets.warn(warning)
    whitelist += user_whitelist
    blacklist = user_flows("blacklist", policy, sets)
    state_action = STATE_ACTION[policy["state"]]

    passthrough = not whitelist and not blacklist
    rules = []
    management = []
    default = "return"
    if not passthrough:
        first = base_flows(node, sets, policy["management_access"])
        management = [flow for flow in first if flow["phase"] == "management"]
        rules = first + blacklist + essential_flows(node, policy) + whitelist
        if whitelist and policy["mode"] == "host":
            default = state_action
        elif whitelist:
            rules += guard_flows(whitelist, state_action)
        rules = split_full_sets(sorted(merge_flows(rules), key=_sort_key), sets)
    _check_missing_peers(sets, policy)

    used = set()
    for flow in rules:
        if flow["sources"] != ANY:
            used.update(flow["sources"])
    for flow in rules:
        if flow["sources"] != ANY and not sets.families(flow["sources"]):
            sets.warn("rule %s admits nobody: its source set(s) %s are empty"
                      % (", ".join(why["id"] for why in flow["why"]), ", ".join(flow["sources"])))
    return {
        "format": PLAN_FORMAT,
        "node": node["name"],
        "roles": sorted(node["roles"]),
        "features": sorted(node["features"]),
        "policy": {"state": policy["state"], "mode": policy["mode"], "scope": policy["scope"]},
        "passthrough": passthrough,
        "default": default,
        "sets": sets.export(used),
        "rules": [_export_flow(flow, sets) for flow in rules],
        "notes": notes,
        "warnings": list(sets.warnings),
        "conflicts": find_conflicts(blacklist, whitelist, management, sets),
    }
