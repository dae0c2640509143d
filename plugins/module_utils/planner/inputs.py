# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The planner's inputs: the policy variables, the inventory and the node, validated and with
defaults filled in; every refusal names the value, the variable and what is allowed."""

from __future__ import annotations

from collections import namedtuple

from ansible_collections.microseg.cluster_firewall.plugins.module_utils import catalog
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.addresses import parse_network
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.errors import PlanError
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.groups import (
    check_cluster_name,
    check_group_map,
    groups_of_hosts,
    role_groups_hint,
    roles_of,
)
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.ports import (
    is_ascii_number,
    parse_port_item,
    parse_ports,
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
    "bgp_peers": [],
    "trust_pod_network": False,
    "blacklist_state": "block",
    "allow_missing_peers": False,
}
NODE_KEYS = ("name", "features", "absent_features", "unread", "blockers", "ports", "port_origins", "pod_cidrs",
             "service_cidrs", "nodelocal_dns", "cluster_ips", "network_origins", "ssh_port", "controller_address", "notes")
# The node's networks the planner needs besides its own addresses: the pod network (a source),
# the Service network and NodeLocal DNSCache's addresses (destinations). The pod and Service
# networks are the cluster's (cluster: True): a node that does not show them takes them from
# another host.
Network = namedtuple("Network", "key label variable cluster")
NETWORKS = (
    Network("pod_cidrs", "pod network", "microseg_pod_cidrs", True),
    Network("service_cidrs", "Service network", "microseg_service_cidrs", True),
    Network("nodelocal_dns", "NodeLocal DNSCache addresses", "microseg_nodelocal_dns_addresses", False),
)
NETWORK_BY_KEY = dict((network.key, network) for network in NETWORKS)
# kube-ipvs0's addresses as a destination: read on the node only (no variable sets them)
IPVS_ADDRESSES = Network("cluster_ips", "addresses on kube-ipvs0 (ClusterIP, LoadBalancer and external IPs)",
                         None, False)
NODE_NETWORKS = tuple(network.key for network in NETWORKS)
CLUSTER_NETWORKS = tuple(network.key for network in NETWORKS if network.cluster)
RULE_KEYS = ("port", "proto", "from", "comment")
# Evaluation order: loopback, the management path, the blacklist (final), what every host needs
# (established, DNAT'ed, essential ICMP), the whitelist, the service-mode guards.
PHASES = ("base", "management", "blacklist", "essential", "whitelist", "guard")
ANY = "any"

# Set names that are not built from peer classes.
SET_TRUSTED = "trusted"
SET_POD_NETWORK = "pod_network"


def var(key):
    return "microseg_" + key


def choice(value, allowed, where):
    if not isinstance(value, str) or value not in allowed:
        raise PlanError("%s: %r is not allowed; allowed: %s" % (where, value, ", ".join(allowed)))
    return value


def as_list(value, where):
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return list(value)
    raise PlanError("%s: %r must be a list" % (where, value))


def short_list(names, limit=20):
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
                        % (", ".join(var(k) for k in unknown), ", ".join(var(k) for k in DEFAULT_POLICY)))
    result = dict(DEFAULT_POLICY)
    result.update((key, value) for key, value in policy.items() if value is not None)
    choice(result["state"], STATES, var("state"))
    choice(result["mode"], MODES, var("mode"))
    choice(result["scope"], SCOPES, var("scope"))
    choice(result["blacklist_state"], STATES, var("blacklist_state"))
    for key in ("nodeport", "management_access", "allow_missing_peers", "trust_pod_network"):
        if not isinstance(result[key], bool):
            raise PlanError("%s: %r must be true or false" % (var(key), result[key]))
    for key in ("trusted_cidrs", "management_cidrs"):
        items = as_list(result[key], var(key))
        result[key] = [parse_network(item, "%s[%d]" % (var(key), index)) for index, item in enumerate(items)]
    if result["scope"] == "cidr" and not result["trusted_cidrs"]:
        raise PlanError("%s: 'cidr' needs at least one CIDR in %s" % (var("scope"), var("trusted_cidrs")))
    for key in ("whitelist", "blacklist", "apiserver_from", "bgp_peers"):
        result[key] = as_list(result[key], var(key))
    return result


def normalise_inventory(inventory):
    """{"hosts": {name: {"addresses": [...], "roles": [...]}}, "groups": {...}} -> validated copy.

    A host without "roles" takes them from the inventory groups (groups.INSTALLER_LAYOUTS and the
    inventory's "group_map", microseg_group_map). A host's "cluster" (microseg_cluster) names the
    cluster it belongs to; None: the one cluster of the hosts that name none. When no host of a
    cluster runs etcd, its control-plane hosts are taken to run it stacked (the kubeadm default).
    """
    if not isinstance(inventory, dict):
        raise PlanError("inventory: %r must be a dict with 'hosts' and 'groups'" % (inventory,))
    groups = inventory.get("groups") or {}
    raw_hosts = inventory.get("hosts") or {}
    if not isinstance(groups, dict) or not isinstance(raw_hosts, dict):
        raise PlanError("inventory: 'hosts' and 'groups' must be dicts")
    groups = dict((name, list(members or [])) for name, members in groups.items())
    group_map = check_group_map(inventory.get("group_map"))
    host_groups = groups_of_hosts(groups)
    hosts = {}
    for name, entry in raw_hosts.items():
        entry = entry or {}
        where = "inventory host %s" % name
        addresses = []
        for index, text in enumerate(as_list(entry.get("addresses"), where + " addresses")):
            network = parse_network(text, "%s address[%d]" % (where, index))
            if network.size != 1:
                raise PlanError("%s: address %r is a network; a host address is a single IP" % (where, text))
            addresses.append(network)
        roles = entry.get("roles")
        roles = roles_of(host_groups.get(name, ()), group_map) if roles is None else set(as_list(roles, where + " roles"))
        for role in roles:
            choice(role, catalog.ROLES, "%s: role" % where)
        cluster_ports = {}
        for key, value in (entry.get("cluster_ports") or {}).items():
            choice(key, catalog.CLUSTER_WIDE_PORT_KEYS, "%s: cluster-wide port setting" % where)
            cluster_ports[key] = parse_ports(value, "%s: %s" % (where, key))
        cluster_features = set(as_list(entry.get("cluster_features"), where + " cluster_features"))
        for feature in cluster_features:
            choice(feature, catalog.CLUSTER_WIDE_FEATURES, "%s: cluster-wide feature" % where)
        hosts[name] = {"addresses": addresses, "roles": roles, "cluster_ports": cluster_ports,
                       "cluster": check_cluster_name(entry.get("cluster"), name),
                       "cluster_features": cluster_features,
                       "cluster_port_origins": dict(entry.get("cluster_port_origins") or {}),
                       "cluster_networks": _cluster_networks(entry.get("cluster_networks"), where),
                       "installer_cni": _installer_cni(entry.get("installer_cni"), where),
                       "address_origin": str(entry.get("address_origin") or "inventory")}
    for cluster in set(host["cluster"] for host in hosts.values()):
        members = [host for host in hosts.values() if host["cluster"] == cluster]
        if not any("etcd" in host["roles"] for host in members):
            for host in members:
                if "kube_control_plane" in host["roles"]:
                    host["roles"].add("etcd")
    return {"hosts": hosts, "groups": groups, "group_map": group_map}


def _cluster_networks(value, where):
    """A host's cluster-wide networks: {key: {"networks": [CIDR], "origin": text, "installer": bool}},
    installer true when they come from an installer's inventory variables, not the node."""
    result = {}
    if value is None:
        return result
    if not isinstance(value, dict):
        raise PlanError("%s: cluster_networks %r must be a dict" % (where, value))
    for key, entry in value.items():
        choice(key, CLUSTER_NETWORKS, "%s: cluster network" % where)
        entry = entry or {}
        networks = [parse_network(item, "%s: %s[%d]" % (where, key, index))
                    for index, item in enumerate(as_list(entry.get("networks"), "%s: %s" % (where, key)))]
        if networks:
            result[key] = {"networks": networks, "origin": str(entry.get("origin") or "inventory"),
                           "installer": bool(entry.get("installer"))}
    return result


def _installer_cni(value, where):
    """A host's CNI as its installer's variables give it (offline; installers.installer_cni), checked;
    None when it has none."""
    if value in (None, {}):
        return None
    if not isinstance(value, dict):
        raise PlanError("%s: installer_cni %r must be a dict" % (where, value))
    features = set(as_list(value.get("features"), where + " installer_cni features"))
    for feature in features:
        choice(feature, catalog.FEATURES, "%s: installer_cni feature" % where)
    ports = {}
    for key, port in (value.get("ports") or {}).items():
        choice(key, catalog.PORT_KEYS, where + ": port")
        ports[key] = parse_ports(port, "%s: installer_cni port %s" % (where, key))
    return {"cni": value.get("cni"), "features": features, "ports": ports, "origin": str(value.get("origin") or ""),
            "default": bool(value.get("default"))}


def _servers_cni(name, cluster, features, ports, origins):
    """Offline, a k3s or RKE2 agent whose variables give only the distribution's default CNI runs
    the CNI its servers' variables set (--flannel-backend, cni: server settings, which installers'
    samples put in the servers' group_vars): the default's features and ports are swapped for the
    servers'. Updates features, ports and origins; -> notes."""
    own = cluster.hosts[name]["installer_cni"]
    if not own or not own["default"] or "kube_control_plane" in cluster.hosts[name]["roles"]:
        return []
    servers = sorted((other, host["installer_cni"]) for other, host in cluster.hosts.items()
                     if "kube_control_plane" in host["roles"] and not (host["installer_cni"] or {"default": True})["default"])
    if not servers:
        return []
    server, cni = servers[0]
    features -= own["features"] - cni["features"]
    features |= cni["features"]
    for key in own["ports"]:
        if origins.get(key) == own["origin"]:
            ports.pop(key, None)
            origins.pop(key, None)
    for key, value in cni["ports"].items():
        if origins.get(key) != "microseg_ports":
            ports[key], origins[key] = value, "%s (on %s)" % (cni["origin"], server)
    notes = ["%s: CNI %s from its server %s's %s, not %s: the CNI is a server setting"
             % (name, cni["cni"], server, cni["origin"], own["origin"])]
    differ = sorted(other for other, other_cni in servers if other_cni["features"] != cni["features"])
    if differ:
        notes.append("%s: the servers' variables give different CNIs (%s and %s): %s's is used"
                     % (name, server, ", ".join(differ), server))
    return notes


def _node_networks(node, cluster, name, warnings):
    """The node's pod and Service networks and NodeLocal DNS addresses, with where each came from:
    the node's own (microseg_* variables or detection), else (pod, Service) the cluster's as
    another host shows it or an installer's variables say, else none, and the plan says so."""
    origins = dict(node.get("network_origins") or {})
    result = {}
    for key in NODE_NETWORKS:
        result[key] = [parse_network(item, "node %s: %s[%d]" % (name, key, index))
                       for index, item in enumerate(as_list(node.get(key), "node %s %s" % (name, key)))]
        origins[key] = origins.get(key) or ("node" if result[key] else "unknown")
        if not result[key] and key in CLUSTER_NETWORKS:
            shared = cluster.cluster_networks(key)
            if shared is not None:
                result[key], origins[key], warning = shared
                if warning:
                    warnings.append(warning)
    cluster_ips = [parse_network(item, "node %s: cluster_ips[%d]" % (name, index))
                   for index, item in enumerate(as_list(node.get("cluster_ips"), "node %s cluster_ips" % name))]
    # IPVS: every address on kube-ipvs0 (ClusterIPs, LoadBalancer and external IPs), a destination
    result["cluster_ips"] = cluster_ips
    origins["cluster_ips"] = "device kube-ipvs0 (node facts)" if cluster_ips else "unknown"
    if not result["service_cidrs"] and cluster_ips:
        # IPVS: the ClusterIPs on kube-ipvs0 now are all that is known; a Service made later is missed.
        result["service_cidrs"] = cluster_ips
        origins["service_cidrs"] = "the %d ClusterIPs on kube-ipvs0 now" % len(cluster_ips)
        warnings.append("the Service CIDR is not shown by any host: the Service rules admit the %d ClusterIPs on "
                        "kube-ipvs0 now, not Services made later; set microseg_service_cidrs" % len(cluster_ips))
    return result, origins


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
    features = set(as_list(node.get("features"), "node %s features" % name))
    for feature in features:
        choice(feature, catalog.FEATURES, "node %s: feature (microseg_features)" % name)
    ports, ssh_port, ssh_origin = _node_ports(node, name)
    controller = node.get("controller_address") or None
    if controller is not None:
        controller = parse_network(controller, "node %s: controller_address" % name)
    host = cluster.hosts[name]
    roles = set(host["roles"])
    origins = dict(node.get("port_origins") or {})
    warnings = []
    networks, network_origins = _node_networks(node, cluster, name, warnings)
    if not roles:
        warnings.append(_no_role_warning(name, cluster, features))
    warnings += _cluster_ports(cluster, ports, origins)
    if roles & set(catalog.KUBERNETES_ROLES):
        features |= cluster.cluster_features()
    cni_notes = _servers_cni(name, cluster, features, ports, origins)
    # What the roles bring but the node does not run (detection said so: a k0s controller alone).
    absent = set(as_list(node.get("absent_features"), "node %s absent_features" % name))
    # the node's files detection could not read (PyYAML missing there): said in the plan's warnings
    unread = [str(path) for path in as_list(node.get("unread"), "node %s unread" % name)]
    if unread:
        warnings.append("%s: detection did not read %s (PyYAML is not installed for the node's Python): the ports "
                        "and networks they set are not known, the plan uses the catalog's defaults for them; "
                        "install PyYAML there (microseg_install_packages) and run again" % (name, ", ".join(unread)))
    for feature in absent:
        choice(feature, catalog.FEATURES, "node %s: absent feature" % name)
    return {
        "name": name,
        "roles": roles,
        "features": (features | catalog.features_of_roles(roles)) - absent,
        "ports": ports,
        "port_origins": origins,
        "warnings": warnings,
        "ssh_port": ssh_port,
        "ssh_origin": ssh_origin,
        "controller": controller,
        "pod_cidrs": networks["pod_cidrs"],
        "service_cidrs": networks["service_cidrs"],
        "nodelocal_dns": networks["nodelocal_dns"],
        "cluster_ips": networks["cluster_ips"],
        "network_origins": network_origins,
        "addresses": host["addresses"],
        "address_origin": host["address_origin"],
        # what on the node still drops the flows this plan admits (firewall_facts, for its backend)
        "blockers": [str(item) for item in as_list(node.get("blockers"), "node %s blockers" % name)],
        # what detection (and the installer's variables) said of the node: the plan carries it
        "detection_notes": [str(item) for item in as_list(node.get("notes"), "node %s notes" % name)] + cni_notes,
    }


def _no_role_warning(name, cluster, features):
    return ("%s has no cluster role: none of its inventory groups is a cluster group (%s), "
            "microseg_group_map maps none of them, and detection found none. Only %s planned; if it "
            "is a Kubernetes or swarm node, put it in one of those groups, map its group with "
            "microseg_group_map, or set microseg_roles"
            % (name, role_groups_hint(cluster.group_map),
               "its features (%s) and your lists are" % ", ".join(sorted(features)) if features
               else "your lists are"))


def _node_ports(node, name):
    """The node's port settings (detected or microseg_ports), checked; the SSH port apart, from
    microseg_ports' 'ssh', else the connection's port, else 22. -> (ports, ssh_port, ssh_origin)."""
    ports = {}
    for key, value in (node.get("ports") or {}).items():
        where = "node %s: port setting %s (microseg_ports)" % (name, key)
        choice(key, catalog.PORT_KEYS, "node %s: port setting (microseg_ports)" % name)
        ports[key] = parse_ports(value, where)
    ssh_port = node.get("ssh_port")
    ssh_origin = "default" if ssh_port in (None, "") else "connection port"
    ssh_port = parse_port_item(22 if ssh_port in (None, "") else _int_or_text(ssh_port), "node %s: ssh_port" % name)
    if "ssh" in ports:
        ssh_port = ports.pop("ssh")[0]
        ssh_origin = (node.get("port_origins") or {}).get("ssh", "microseg_ports")
    return ports, ssh_port, ssh_origin


def _cluster_ports(cluster, ports, origins):
    """Cluster-wide port settings (the NodePort range...) the node does not show, taken from the
    host of its cluster that does; updates ports and origins; -> warnings (hosts disagree)."""
    warnings = []
    for key in catalog.CLUSTER_WIDE_PORT_KEYS:
        shared = cluster.cluster_port(key)
        if key not in ports and shared is not None:
            ports[key], origins[key], warning = shared
            if warning:
                warnings.append(warning)
    return warnings


def _int_or_text(value):
    if is_ascii_number(value):
        return int(value)
    return value


# --------------------------------------------------------------------------- address sets
