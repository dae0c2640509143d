# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""From Ansible host variables to the planner's inventory: each host's addresses and roles."""

from __future__ import annotations

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.addresses import looks_like_address
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.catalog import (
    CLUSTER_WIDE_FEATURES,
    CLUSTER_WIDE_PORT_KEYS,
)

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.groups import check_group_map
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.inputs import CLUSTER_NETWORKS


def _listify(value):
    if value in (None, ""):
        return []
    return [value] if isinstance(value, str) else list(value)


def _ip_literal(value):
    return isinstance(value, str) and looks_like_address(value) and "/" not in value


# kubespray's address variables (roles/network_facts): the address a node binds cluster services
# to and the one other nodes reach it at, in each family.
KUBESPRAY_ADDRESSES = ("ip", "access_ip", "ip6", "access_ip6")
FACT_FAMILIES = (("ipv4", "default_ipv4", "IPv4"), ("ipv6", "default_ipv6", "IPv6"))


def addresses_and_origin(host_vars):
    """(addresses, origin): the addresses peers see a host come from, the first found of

    1. ``microseg_node_addresses`` (the user says so);
    2. kubespray's ``ip``, ``access_ip``, ``ip6`` and ``access_ip6`` (the address the node binds
       cluster services to, and the one other nodes reach it at, in each family; all that differ).
       A family none of them gives comes from the gathered default address of that family, as
       kubespray falls back to it (so a dual-stack node with only ``ip`` set keeps its IPv6);
    3. the gathered default IPv4/IPv6 addresses (what the node routes from);
    4. ``ansible_host`` when it is an IP literal (names are not resolved here), then the inventory
       name when it is one (k3s-ansible's sample inventory names hosts by address).
    """
    explicit = host_vars.get("microseg_node_addresses")
    if explicit not in (None, "", []):
        return [str(item) for item in _listify(explicit)], "microseg_node_addresses"
    facts = host_vars.get("ansible_facts") or {}
    gathered = dict((family, str((facts.get(key) or {}).get("address")))
                    for family, key, _label in FACT_FAMILIES if (facts.get(key) or {}).get("address"))
    installer, keys = [], []
    for key in KUBESPRAY_ADDRESSES:
        value = host_vars.get(key)
        if _ip_literal(value):
            keys.append(key)
            if value not in installer:
                installer.append(value)
    if installer:
        covered = set("ipv6" if ":" in address else "ipv4" for address in installer)
        origin = " and ".join(keys)
        for family, _key, label in FACT_FAMILIES:
            if family not in covered and family in gathered:
                installer.append(gathered[family])
                origin += " and the gathered %s address" % label
        return installer, origin
    if gathered:
        return [gathered[family] for family, _key, _label in FACT_FAMILIES if family in gathered], "gathered facts"
    for key in ("ansible_host", "inventory_hostname"):
        if _ip_literal(host_vars.get(key)):
            return [host_vars[key]], key
    return [], "none"


# kubespray's variables for what it installs (inventory/sample/group_vars/k8s_cluster/k8s-cluster.yml):
# the planner's network -> [(variable, only when this variable is true)]
KUBESPRAY_NETWORKS = {
    "pod_cidrs": (("kube_pods_subnet", None), ("kube_pods_subnet_ipv6", "dual_stack")),
    "service_cidrs": (("kube_service_addresses", None), ("kube_service_addresses_ipv6", "dual_stack")),
}
KUBESPRAY_DUAL_STACK = ("enable_dual_stack_networks", "ipv6_stack")
# The variables installer_settings reads: the roles pass these of each host (roles/*/vars).
INSTALLER_VARIABLES = ("kube_proxy_mode", "enable_nodelocaldns", "nodelocaldns_ip") + tuple(
    variable for pairs in KUBESPRAY_NETWORKS.values() for variable, _when in pairs) + KUBESPRAY_DUAL_STACK


def _truthy(value):
    return value is True or (isinstance(value, str) and value.strip().lower() in ("true", "yes", "1"))


def installer_settings(host_vars):
    """What an installer's inventory variables say the node runs (kubespray's): {"features",
    "nodelocal_dns", "networks": {pod_cidrs, service_cidrs}, "origin"}. Used where the node does
    not show it (offline plans; networks the node does not hold)."""
    host_vars = host_vars or {}
    features, nodelocal = [], []
    if str(host_vars.get("kube_proxy_mode") or "").strip().lower() == "ipvs":
        features.append("kube_proxy_ipvs")
    if _truthy(host_vars.get("enable_nodelocaldns")):
        features.append("nodelocal_dns")
        if _ip_literal(host_vars.get("nodelocaldns_ip")):
            nodelocal.append(host_vars["nodelocaldns_ip"])
    dual_stack = any(_truthy(host_vars.get(key)) for key in KUBESPRAY_DUAL_STACK)
    networks, used = {}, []
    for key, pairs in KUBESPRAY_NETWORKS.items():
        for variable, when in pairs:
            value = host_vars.get(variable)
            if isinstance(value, str) and looks_like_address(value) and (when is None or dual_stack):
                networks.setdefault(key, []).append(value.strip())
                used.append(variable)
    used = [key for key in ("kube_proxy_mode", "enable_nodelocaldns") if host_vars.get(key) is not None] + used
    return {"features": features, "nodelocal_dns": nodelocal, "networks": networks,
            "origin": "kubespray's %s" % ", ".join(used) if used else None}


def host_addresses(host_vars):
    """The addresses peers see a host come from (addresses_and_origin, without the origin)."""
    return addresses_and_origin(host_vars)[0]


def build_inventory(hostvars, groups, hosts=None, group_map=None):
    """{"hosts": {name: {"addresses": [...], ["roles": [...]]}}, "groups": {...}} for the planner.

    A host's roles: ``microseg_roles`` when the user sets it, else the roles of its
    ``microseg_profile`` (groups + detection, made by the facts role), else (no "roles" key)
    the planner takes them from the groups, with ``group_map`` (microseg_group_map). Cluster-wide settings a host's profile holds (the
    NodePort range read on a control plane) go in "cluster_ports" for the other nodes, cluster-wide
    features (a k3s server's embedded registry) in "cluster_features".
    """
    names = list(hosts) if hosts is not None else list(groups.get("all", []))
    result = {}
    for name in names:
        host_vars = hostvars[name]
        addresses, origin = addresses_and_origin(host_vars)
        entry = {"addresses": addresses, "address_origin": origin}
        profile = host_vars.get("microseg_profile") or {}
        roles = host_vars.get("microseg_roles")
        if roles is None:
            roles = profile.get("roles")
        if roles is not None:
            entry["roles"] = _listify(roles)
        shared = dict((key, value) for key, value in (profile.get("ports") or {}).items() if key in CLUSTER_WIDE_PORT_KEYS)
        if shared:
            entry["cluster_ports"] = shared
            entry["cluster_port_origins"] = dict((key, (profile.get("port_origins") or {}).get(key, "profile"))
                                                 for key in shared)
        shared_features = sorted(set(profile.get("features") or []) & set(CLUSTER_WIDE_FEATURES))
        if shared_features:
            entry["cluster_features"] = shared_features
        networks = cluster_networks(profile, installer_settings(dict((key, host_vars.get(key))
                                                                     for key in INSTALLER_VARIABLES)))
        if networks:
            entry["cluster_networks"] = networks
        result[name] = entry
    return {"hosts": result, "groups": dict((name, list(members)) for name, members in groups.items()),
            "group_map": check_group_map(group_map)}


def cluster_networks(profile, installer):
    """A host's pod and Service networks for the other nodes: what its profile holds (the node
    showed them, or the user set them), else what the installer's variables say (installer: true)."""
    result = {}
    for key in CLUSTER_NETWORKS:
        if profile.get(key):
            origin = (profile.get("network_origins") or {}).get(key) or "profile"
            result[key] = {"networks": list(profile[key]), "origin": origin, "installer": False}
        elif installer["networks"].get(key):
            result[key] = {"networks": list(installer["networks"][key]), "origin": installer["origin"],
                           "installer": True}
    return result
