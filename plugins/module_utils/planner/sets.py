# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The named address sets one plan refers to (peer classes, user 'from' lists, management,
trusted CIDRs, the pod network), and the cluster-wide work all plans of a run share."""

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
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.inputs import (
    ANY,
    IPVS_ADDRESSES,
    NETWORK_BY_KEY,
    SET_POD_NETWORK,
    SET_TRUSTED,
    as_list,
    normalise_inventory,
    short_list,
)
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.ports import format_ports


class Cluster(object):
    """The normalised inventory, and what every plan of one run shares, computed once: the
    addresses of each peer class and of each user 'from' list, their merged form and their
    intervals. Planning N nodes against one Cluster costs N small plans plus the shared sets
    once, where normalising the inventory for each node cost N x N.

    Several clusters in one inventory (microseg_cluster): a node is planned against the view of
    its own cluster (of()), so its peer sets, networks and cluster-wide settings hold its cluster's
    hosts only; a user's list still names any host or group of the inventory (an explicit
    cross-cluster flow)."""

    def __init__(self, inventory):
        normal = normalise_inventory(inventory)
        # every host: what a user's list (a 'from', microseg_apiserver_from) may name
        self.all_hosts = normal["hosts"]
        # the hosts of this cluster: what the peer sets, networks and cluster-wide settings come from
        self.hosts = self.all_hosts
        self.label = ""          # " of cluster NAME" in a view of one of several clusters (the sets' reasons)
        self.groups = normal["groups"]
        self.group_map = normal["group_map"]
        self._memo = {}
        self._views = {}
        self.names = sorted(set(host["cluster"] for host in self.all_hosts.values()), key=lambda name: name or "")

    def of(self, host):
        """The cluster (microseg_cluster) of this host: a Cluster of its members only, made once
        and shared by the plans of its nodes. One cluster in the inventory (the default): self."""
        if len(self.names) < 2 or host not in self.all_hosts:
            return self
        name = self.all_hosts[host]["cluster"]
        if name not in self._views:
            view = object.__new__(Cluster)
            label = " of cluster %s" % name if name is not None else " of the hosts that set no microseg_cluster"
            view.__dict__.update(self.__dict__, label=label, _memo={}, _views={}, names=[name],
                                 hosts=dict((other, entry) for other, entry in self.all_hosts.items()
                                            if entry["cluster"] == name))
            self._views[name] = view
        return self._views[name]

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
        return sorted(name for name in hosts if not self.all_hosts.get(name, {}).get("addresses"))

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

    def cluster_features(self):
        """The cluster-wide features some Kubernetes host of the inventory runs (catalog.CLUSTER_WIDE_FEATURES)."""
        return self.memo("cluster_features", lambda: set(
            feature for host in self.hosts.values() if host["roles"] & set(catalog.KUBERNETES_ROLES)
            for feature in host["cluster_features"]))

    def cluster_networks(self, key):
        """A cluster-wide network (pod_cidrs, service_cidrs) as the hosts show it: (networks, origin,
        warning or None), or None when no host knows it. What a node showed wins over an installer's
        variables; what several nodes showed is joined (several pools)."""
        return self.memo(("cluster_networks", key), lambda: self._find_cluster_networks(key))

    def _find_cluster_networks(self, key):
        found = [(name, entry["cluster_networks"][key]) for name, entry in sorted(self.hosts.items())
                 if key in entry["cluster_networks"]]
        shown = [item for item in found if not item[1]["installer"]] or found
        if not shown:
            return None
        networks, origins = [], []
        for name, entry in shown:
            origin = "%s on %s" % (entry["origin"], name)
            for network in entry["networks"]:
                if network not in networks:
                    networks.append(network)
                    if origin not in origins:
                        origins.append(origin)
        warning = None
        if len(set(tuple(str(n) for n in entry["networks"]) for _name, entry in shown)) > 1:
            warning = ("%s differs between hosts (%s): using all of them"
                       % (key, ", ".join("%s=%s" % (name, ",".join(str(n) for n in entry["networks"]))
                                         for name, entry in shown)))
        return networks, ", ".join(origins[:3]) + (" and others" if len(origins) > 3 else ""), warning


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
        # In host mode a Kubernetes node with no CNI feature has no rows for the pods' traffic between
        # nodes: the state's action falls on it (in block, pods on different nodes cannot talk).
        cni_features = [feature for feature in node["features"] if feature.startswith(catalog.CNI_FEATURE_PREFIXES)]
        if policy["mode"] == "host" and node["roles"] & set(catalog.KUBERNETES_ROLES) and not cni_features:
            self.warn("no CNI known for this node (not detected, no installer variable names it with its mode, none in "
                      "microseg_features): in host mode the pods' traffic between nodes (the CNI's tunnel, BGP, health "
                      "checks) is not admitted, and state block cuts it; add the CNI's features to microseg_features "
                      "(for example flannel_vxlan, calico_vxlan, calico_bgp, canal, cilium_vxlan)")

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
        if peer_class == catalog.PEER_POD_NETWORK:
            return self.pod_network()
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
            self.warn("no address known for any host with role %s%s: set %s is empty"
                      % (" or ".join(sorted(roles)), self.cluster.label, peer_class))
        return self._add(peer_class, networks, "addresses of the hosts with role %s%s"
                         % (" or ".join(sorted(roles)), self.cluster.label), shared=("peer", peer_class))

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
                          "admitted" % (short_list(outside), ", ".join(str(n) for n in self.policy["trusted_cidrs"])))
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
        """The pod CIDRs as a set (the peer class pod_network, in scopes node_ip and cidr)."""
        if not self.node["pod_cidrs"]:
            self.warn("pod network unknown (not shown by this node or any other, no microseg_pod_cidrs): pods reach "
                      "this node's services only if their traffic is masqueraded to a node address; set "
                      "microseg_pod_cidrs")
        return self._add(SET_POD_NETWORK, self.node["pod_cidrs"], "the pod network (%s)"
                         % self.node["network_origins"]["pod_cidrs"])

    # a catalog row's destination -> the node's network it names
    DESTINATIONS = {
        catalog.DEST_SERVICE_NETWORK: NETWORK_BY_KEY["service_cidrs"],
        catalog.DEST_NODELOCAL_DNS: NETWORK_BY_KEY["nodelocal_dns"],
        catalog.DEST_IPVS_ADDRESSES: IPVS_ADDRESSES,
    }

    def destination(self, name):
        """A row's destination (catalog.DESTINATIONS) -> set name: the Service CIDRs, the NodeLocal
        DNSCache addresses. An unknown one makes an empty set (its rules admit nothing) and a warning."""
        network = self.DESTINATIONS[name]
        if not self.node[network.key] and network.variable is None:
            self.warn("the %s unknown (this node's facts do not show them: an offline plan, or facts not "
                      "gathered): the rules to them admit nothing; plan with the node's facts" % network.label)
        elif not self.node[network.key]:
            self.warn("the %s unknown (not shown by this node or any other, no %s): the rules to it admit nothing; "
                      "set %s" % (network.label, network.variable, network.variable))
        return self._add(name, self.node[network.key], "the %s (%s)"
                         % (network.label, self.node["network_origins"][network.key]))

    def user_sources(self, values, where, name=None):
        """A user 'from' list (addresses, CIDRs, inventory groups or hosts) -> set name or ANY.

        Unnamed lists get a name from their content, so equal lists share one set."""
        values = as_list(values, where)
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
                found = [address for host in members
                         for address in self.cluster.all_hosts.get(host, {}).get("addresses", [])]
                if not found:
                    warnings.append("%s: group %s has no host with a known address" % (item_where, value))
                networks.extend(found)
                unplaced.extend(self.cluster.unplaced(members))
            elif value in self.cluster.all_hosts:
                networks.extend(self.cluster.all_hosts[value]["addresses"])
                unplaced.extend(self.cluster.unplaced([value]))
            else:
                raise PlanError("%s: %r is neither an address/CIDR nor an inventory group or host; groups: %s"
                                % (item_where, value, short_list(self.cluster.groups)))
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
