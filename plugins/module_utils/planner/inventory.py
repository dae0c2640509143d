# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""From Ansible host variables to the planner's inventory: each host's addresses and roles."""

from __future__ import annotations

import re

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.addresses import looks_like_address
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.catalog import (
    CLUSTER_WIDE_FEATURES,
    CLUSTER_WIDE_PORT_KEYS,
)

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.groups import (
    check_cluster_name,
    check_group_map,
)
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
# The CNI and its mode, as each installer's variables give it (installer_cni).
KUBESPRAY_CNI_VARIABLES = ("kube_network_plugin", "calico_network_backend", "calico_ipip_mode", "calico_vxlan_mode",
                           "calico_vxlan_port", "typha_enabled", "flannel_backend_type", "cilium_tunnel_mode")
K3S_CNI_VARIABLES = ("extra_server_args", "extra_args", "server_config_yaml",       # k3s-io/k3s-ansible
                     "calico_iface", "calico_encapsulation", "cilium_iface")          # techno-tim/k3s-ansible
RKE2_CONFIG_VARIABLES = ("host_rke2_config", "group_rke2_config", "cluster_rke2_config", "rke2_config")
# The variables installer_settings and installer_cni read: the roles pass these of each host.
INSTALLER_VARIABLES = ("kube_proxy_mode", "enable_nodelocaldns", "nodelocaldns_ip") + tuple(
    variable for pairs in KUBESPRAY_NETWORKS.values() for variable, _when in pairs) + KUBESPRAY_DUAL_STACK + (
    KUBESPRAY_CNI_VARIABLES + K3S_CNI_VARIABLES + RKE2_CONFIG_VARIABLES)


def installer_variables(host_vars):
    """INSTALLER_VARIABLES of a host, each read on its own: a variable that cannot be templated
    offline (techno-tim/k3s-ansible's extra_server_args names a gathered interface's address) is
    left out instead of failing the plan."""
    found = {}
    for key in INSTALLER_VARIABLES:
        try:
            found[key] = host_vars.get(key)
        except Exception:           # noqa: BLE001 - Ansible's templating errors have no common public base
            found[key] = None
    return found


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
    features (a k3s server's embedded registry) in "cluster_features". A host's ``microseg_cluster``
    goes in "cluster" (unset: the one cluster of every host that sets none): the planner computes
    the address sets, networks and cluster-wide settings of each cluster from its own hosts.
    """
    names = list(hosts) if hosts is not None else list(groups.get("all", []))
    result = {}
    for name in names:
        host_vars = hostvars[name]
        addresses, origin = addresses_and_origin(host_vars)
        entry = {"addresses": addresses, "address_origin": origin}
        cluster = check_cluster_name(host_vars.get("microseg_cluster"), name)
        if cluster is not None:
            entry["cluster"] = cluster
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
        networks = cluster_networks(profile, installer_settings(installer_variables(host_vars)))
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


# kubespray's defaults where its inventory leaves them unset (roles/network_plugin/calico_defaults,
# flannel and cilium defaults/main.yml): Calico with VXLAN always, IP-in-IP never.
KUBESPRAY_CNI_DEFAULTS = {"calico_network_backend": "vxlan", "calico_ipip_mode": "Never", "calico_vxlan_mode": "Always",
                          "flannel_backend_type": "vxlan", "cilium_tunnel_mode": "vxlan"}
# flannel's backends (k3s --flannel-backend, kubespray flannel_backend_type) -> feature
FLANNEL_BACKENDS = {"vxlan": "flannel_vxlan", "host-gw": "flannel_host_gw", "wireguard-native": "flannel_wireguard",
                    "wireguard": "flannel_wireguard", "udp": "flannel_udp", "ipsec": "flannel_ipsec",
                    "ipip": "flannel_ipip"}
K3S_GROUPS = ("server", "agent", "master", "node")
RKE2_GROUPS = ("rke2_servers", "rke2_agents")


def _text(variables, key, default=None):
    value = variables.get(key)
    return str(value).strip() if isinstance(value, (str, int)) and str(value).strip() else default


def _calico(variables, backend, ipip, vxlan, origin):
    features = ["calico_health"] + (["calico_bgp"] if backend.lower() == "bird" else [])
    features += ["calico_ipip"] if ipip.lower() != "never" else []
    features += ["calico_vxlan"] if vxlan.lower() != "never" else []
    if _truthy(variables.get("typha_enabled")):
        features.append("calico_typha")
    ports = {}
    port = _text(variables, "calico_vxlan_port")
    if "calico_vxlan" in features and port and port.isdigit():
        ports["calico_vxlan"] = int(port)
    return {"cni": "calico", "features": features, "ports": ports, "origin": origin}


def _kubespray_cni(variables):
    plugin = (_text(variables, "kube_network_plugin") or "").lower()
    if not plugin:
        return None
    value = dict((key, _text(variables, key, default)) for key, default in KUBESPRAY_CNI_DEFAULTS.items())
    origin = "kubespray's kube_network_plugin %s" % plugin
    if plugin == "calico":
        modes = (value["calico_network_backend"], value["calico_vxlan_mode"], value["calico_ipip_mode"])
        return _calico(variables, value["calico_network_backend"], value["calico_ipip_mode"], value["calico_vxlan_mode"],
                       origin + " (calico_network_backend %s, calico_vxlan_mode %s, calico_ipip_mode %s; kubespray's "
                       "defaults where unset)" % modes)
    if plugin == "flannel":
        backend = value["flannel_backend_type"]
        return {"cni": "flannel", "features": [FLANNEL_BACKENDS[backend]] if backend in FLANNEL_BACKENDS else [],
                "ports": {}, "origin": origin + " (flannel_backend_type %s)" % backend}
    if plugin == "cilium":
        tunnel = value["cilium_tunnel_mode"]
        features = ["cilium_health"] + (["cilium_" + tunnel] if tunnel in ("vxlan", "geneve") else [])
        return {"cni": "cilium", "features": features, "ports": {}, "origin": origin + " (cilium_tunnel_mode %s)" % tunnel}
    if plugin == "kube-router":
        return {"cni": "kube-router", "features": ["kube_router"], "ports": {}, "origin": origin}
    return {"cni": plugin, "features": [], "ports": {}, "origin": origin}


def _k3s_cni(variables):
    """k3s's embedded flannel (VXLAN unless --flannel-backend says otherwise), or techno-tim's
    Calico or Cilium in its place (calico_iface, cilium_iface: its extra_server_args then pass
    --flannel-backend=none)."""
    backend, origin = None, None
    for key in ("extra_server_args", "extra_args"):
        match = re.search(r"--flannel-backend[= ]+[\"']?([\w-]+)", _text(variables, key) or "")
        if match:
            backend, origin = match.group(1), "k3s-ansible's %s --flannel-backend %s" % (key, match.group(1))
            break
    match = re.search(r"^\s*flannel-backend:\s*[\"']?([\w-]+)", _text(variables, "server_config_yaml") or "", re.M)
    if backend is None and match:
        backend, origin = match.group(1), "k3s-ansible's server_config_yaml flannel-backend: %s" % match.group(1)
    if backend in (None, "none") and _text(variables, "calico_iface"):
        encapsulation = _text(variables, "calico_encapsulation", "VXLANCrossSubnet")
        vxlan = "Always" if "vxlan" in encapsulation.lower() else "Never"
        ipip = "Always" if "ipip" in encapsulation.lower() else "Never"
        return _calico(variables, "bird", ipip, vxlan, "techno-tim/k3s-ansible's calico_iface (calico_encapsulation %s)"
                       % encapsulation)
    if backend in (None, "none") and _text(variables, "cilium_iface"):
        return {"cni": "cilium", "features": ["cilium_health"], "ports": {},
                "origin": "techno-tim/k3s-ansible's cilium_iface (the tunnel, if any, is unknown)"}
    if backend is None:
        return {"cni": "flannel", "features": ["flannel_vxlan"], "ports": {},
                "origin": "k3s's default flannel backend vxlan (no --flannel-backend in k3s-ansible's variables)"}
    return {"cni": "flannel" if backend != "none" else None,
            "features": [FLANNEL_BACKENDS[backend]] if backend in FLANNEL_BACKENDS else [], "ports": {}, "origin": origin}


def _rke2_cni(variables):
    """rke2-ansible writes host_rke2_config over group_rke2_config over cluster_rke2_config (older
    releases: rke2_config) to /etc/rancher/rke2/config.yaml; RKE2's default CNI is canal. Multus
    delegates to the CNI listed after it."""
    for key in RKE2_CONFIG_VARIABLES:
        config = variables.get(key)
        if isinstance(config, dict) and config.get("cni") not in (None, "", []):
            names = config["cni"]
            names = [part.strip() for part in names.split(",")] if isinstance(names, str) else [str(n) for n in names]
            names = [name for name in names if name and name != "multus"]
            cni, origin = (names[0] if names else None), "rke2-ansible's %s cni: %s" % (key, ", ".join(names))
            break
    else:
        cni, origin = "canal", "RKE2's default CNI canal (no cni in rke2-ansible's variables)"
    features = ["canal"] if cni == "canal" else []
    return {"cni": cni if cni != "none" else None, "features": features, "ports": {}, "origin": origin}


def installer_cni(variables, group_names):
    """The CNI and its mode as the installer's variables give them, for a node not detected:
    {"cni", "features", "ports", "origin"} ("features" empty: the mode is unknown), or None when no
    installer's variables say. kubespray: kube_network_plugin; k3s-ansible (k3s-io, techno-tim):
    a host of k3s_cluster; rke2-ansible: a host of rke2_servers or rke2_agents."""
    variables, groups = variables or {}, set(group_names or ())
    found = _kubespray_cni(variables)
    if found is None and "k3s_cluster" in groups and groups & set(K3S_GROUPS):
        found = _k3s_cni(variables)
    if found is None and groups & set(RKE2_GROUPS):
        found = _rke2_cni(variables)
    return found
