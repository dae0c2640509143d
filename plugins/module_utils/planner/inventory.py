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

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.groups import (
    check_cluster_name,
    check_group_map,
)
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.inputs import CLUSTER_NETWORKS
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.installers import (
    KUBESPRAY_PORTS,
    RKE2_CONFIG_VARIABLES,
    UNREADABLE,
    falsy,
    installer_networks,
    truthy,
)


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
# the planner's network -> [(variable, its family)]; IPv4 unless ipv4_stack is false, IPv6 with
# ipv6_stack (older: enable_dual_stack_networks), as roles/kubespray_defaults builds kube_pods_subnets.
KUBESPRAY_NETWORKS = {
    "pod_cidrs": (("kube_pods_subnet", "ipv4"), ("kube_pods_subnet_ipv6", "ipv6")),
    "service_cidrs": (("kube_service_addresses", "ipv4"), ("kube_service_addresses_ipv6", "ipv6")),
}
KUBESPRAY_DUAL_STACK = ("enable_dual_stack_networks", "ipv6_stack")
# kubespray deploys no kube-proxy with these (roles/kubespray_defaults kubeadm_init_phases_skip)
KUBESPRAY_NO_KUBE_PROXY = ("kube_proxy_remove", "cilium_kube_proxy_replacement", "calico_bpf_enabled")
# The CNI and its mode, as each installer's variables give it (installers.installer_cni), and the ports
KUBESPRAY_CNI_VARIABLES = ("kube_network_plugin", "calico_network_backend", "calico_ipip_mode", "calico_vxlan_mode",
                           "calico_vxlan_port", "calico_bgp_listen_port", "calico_wireguard_enabled", "typha_enabled",
                           "flannel_backend_type", "flannel_vxlan_port", "cilium_tunnel_mode", "cilium_encryption_enabled",
                           "cilium_encryption_type", "cilium_enable_hubble") + tuple(
    variable for _key, variable in KUBESPRAY_PORTS)
K3S_CNI_VARIABLES = ("extra_server_args", "extra_args", "server_config_yaml",       # k3s-io/k3s-ansible
                     "calico_iface", "calico_encapsulation", "cilium_iface",          # techno-tim/k3s-ansible
                     "cilium_mode", "cilium_hubble", "cilium_bgp", "cluster_cidr")
# The variables installer_settings and installers.* read: the roles pass these of each host.
INSTALLER_VARIABLES = ("group_names", "kube_proxy_mode", "enable_nodelocaldns", "nodelocaldns_ip", "ipv4_stack") + tuple(
    variable for pairs in KUBESPRAY_NETWORKS.values() for variable, _family in pairs) + KUBESPRAY_DUAL_STACK + (
    KUBESPRAY_NO_KUBE_PROXY + KUBESPRAY_CNI_VARIABLES + K3S_CNI_VARIABLES + RKE2_CONFIG_VARIABLES)


def installer_variables(host_vars):
    """INSTALLER_VARIABLES of a host, each read on its own: a variable that cannot be templated
    offline (techno-tim/k3s-ansible's extra_server_args names a gathered interface's address) is
    left out instead of failing the plan, and named in installers.UNREADABLE (what it may set is
    then not taken from the installer's defaults)."""
    found, unreadable = {}, []
    for key in INSTALLER_VARIABLES:
        try:
            found[key] = host_vars.get(key)
        except Exception:           # noqa: BLE001 - Ansible's templating errors have no common public base
            found[key] = unreadable
        # ansible-core 2.19 hands a filter an undefined marker (a jinja2 Undefined) instead of raising
        if found[key] is unreadable or _undefined(found[key]):
            found[key] = None
            unreadable.append(key)
    found[UNREADABLE] = unreadable
    return found


def _undefined(value):
    """True for Jinja's Undefined (ansible-core 2.19's markers of a variable it could not template)."""
    return any(cls.__name__ == "Undefined" for cls in type(value).__mro__)


def _no_kube_proxy(host_vars):
    """The variable by which kubespray deploys no kube-proxy, or None."""
    plugin = str(host_vars.get("kube_network_plugin") or "").strip().lower()
    for variable, cni in zip(KUBESPRAY_NO_KUBE_PROXY, (None, "cilium", "calico")):
        value = host_vars.get(variable)
        if (cni is None or plugin == cni) and (truthy(value) or str(value).strip().lower() == "strict"):
            return variable
    return None


def _kubespray_networks(host_vars):
    """({pod_cidrs, service_cidrs}, {key: origin}) from kubespray's variables."""
    families = {"ipv4": not falsy(host_vars.get("ipv4_stack")),
                "ipv6": any(truthy(host_vars.get(key)) for key in KUBESPRAY_DUAL_STACK)}
    networks, origins = {}, {}
    for key, pairs in KUBESPRAY_NETWORKS.items():
        for variable, family in pairs:
            value = host_vars.get(variable)
            if isinstance(value, str) and looks_like_address(value) and families[family]:
                networks.setdefault(key, []).append(value.strip())
                origins[key] = (origins[key] + " and " + variable) if key in origins else "kubespray's " + variable
    return networks, origins


def installer_settings(host_vars):
    """What an installer's inventory variables say the node runs: {"features", "nodelocal_dns",
    "networks": {pod_cidrs, service_cidrs}, "network_origins", "origin", "notes"} (kube-proxy and
    NodeLocal DNSCache: kubespray's; networks: kubespray's, else a k3s or RKE2 server's). Used
    where the node does not show it (offline plans; networks the node does not hold)."""
    host_vars = host_vars or {}
    features, nodelocal, notes = [], [], []
    if str(host_vars.get("kube_proxy_mode") or "").strip().lower() == "ipvs":
        absent = _no_kube_proxy(host_vars)
        if absent:
            notes.append("kube-proxy is not deployed (kubespray's %s): no IPVS rows" % absent)
        else:
            features.append("kube_proxy_ipvs")
    if truthy(host_vars.get("enable_nodelocaldns")):
        features.append("nodelocal_dns")
        if _ip_literal(host_vars.get("nodelocaldns_ip")):
            nodelocal.append(host_vars["nodelocaldns_ip"])
    networks, origins = _kubespray_networks(host_vars)
    if not networks:
        networks, origins = installer_networks(host_vars, host_vars.get("group_names"))
    used = [key for key in ("kube_proxy_mode", "enable_nodelocaldns") if host_vars.get(key) is not None]
    return {"features": features, "nodelocal_dns": nodelocal, "networks": networks, "network_origins": origins,
            "notes": notes, "origin": "kubespray's %s" % ", ".join(used) if used else None}


def host_addresses(host_vars):
    """The addresses peers see a host come from (addresses_and_origin, without the origin)."""
    return addresses_and_origin(host_vars)[0]


def build_inventory(hostvars, groups, hosts=None, group_map=None):
    """{"hosts": {name: {"addresses": [...], ["roles": [...]]}}, "groups": {...}} for the planner.

    A host's roles: ``microseg_roles`` when the user sets it, else the roles of its
    ``microseg_profile`` (groups + detection, made by the facts role), else (no "roles" key)
    the planner takes them from the groups, with ``group_map`` (microseg_group_map). Cluster-wide settings a host's profile holds (the
    NodePort range read on a control plane) go in "cluster_ports" for the other nodes, cluster-wide
    features (a k3s server's embedded registry) in "cluster_features", offline the CNI the installer's
    variables give (a k3s or RKE2 server's is its agents') in "installer_cni". A host's ``microseg_cluster``
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
        if profile.get("installer_cni"):
            entry["installer_cni"] = profile["installer_cni"]    # a server's CNI, for its agents
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
            origin = (installer.get("network_origins") or {}).get(key) or installer["origin"]
            result[key] = {"networks": list(installer["networks"][key]), "origin": origin,
                           "installer": True}
    return result
