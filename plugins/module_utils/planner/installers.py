# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What an installer's inventory variables say a node runs, for a node that was not detected
(offline plans): the CNI and its mode, the ports they move, the pod and Service networks of k3s and
RKE2 (kubespray's networks: inventory.installer_settings). Each value names the variable it came
from; an installer's own default is used only where the installer itself applies it, and said so.

Sources: kubespray roles/kubespray_defaults, roles/kubernetes/control-plane/defaults,
roles/network_plugin/*/defaults; k3s-io/k3s-ansible roles/prereq/vars/main.yml; techno-tim/k3s-ansible
inventory/sample/group_vars/all.yml and roles/k3s_server_post; rke2-ansible roles/rke2/tasks/config.yml;
rancher/rke2-charts (rke2-flannel backendPort 4789, rke2-calico VXLAN with BGP disabled, rke2-cilium).
"""

from __future__ import annotations

import re

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.addresses import looks_like_address

# kubespray's defaults where its inventory leaves them unset (roles/network_plugin/calico_defaults,
# flannel and cilium defaults/main.yml): Calico with VXLAN always, IP-in-IP never.
KUBESPRAY_CNI_DEFAULTS = {"calico_network_backend": "vxlan", "calico_ipip_mode": "Never", "calico_vxlan_mode": "Always",
                          "flannel_backend_type": "vxlan", "cilium_tunnel_mode": "vxlan", "cilium_encryption_type": "ipsec"}
# kubespray's port variables: the planner's port key -> variable (kubeadm bindPort, --service-node-port-range,
# the CNIs' ports); a CNI's port counts only with that CNI's feature.
KUBESPRAY_PORTS = (("apiserver", "kube_apiserver_port"), ("nodeport_range", "kube_apiserver_node_port_range"))
KUBESPRAY_CNI_PORTS = (("calico_vxlan", "calico_vxlan_port"), ("calico_bgp", "calico_bgp_listen_port"),
                       ("flannel_vxlan", "flannel_vxlan_port"))
# flannel's backends (k3s --flannel-backend, kubespray flannel_backend_type) -> feature
FLANNEL_BACKENDS = {"vxlan": "flannel_vxlan", "host-gw": "flannel_host_gw", "wireguard-native": "flannel_wireguard",
                    "wireguard": "flannel_wireguard", "udp": "flannel_udp", "ipsec": "flannel_ipsec",
                    "ipip": "flannel_ipip"}
K3S_GROUPS = ("server", "agent", "master", "node")
K3S_SERVER_GROUPS = ("server", "master")
RKE2_GROUPS = ("rke2_servers", "rke2_agents")
# k3s and RKE2 take the same flags (k3s: extra_server_args or server_config_yaml; RKE2: its config): port key ->
# flag, and the networks with the defaults both apply (docs.k3s.io, docs.rke2.io; k3s-ansible's and
# rke2-ansible's own firewall tasks assume them too)
K3S_PORT_FLAGS = (("apiserver", "https-listen-port"), ("nodeport_range", "service-node-port-range"))
K3S_NETWORK_FLAGS = (("pod_cidrs", "cluster-cidr", "10.42.0.0/16"), ("service_cidrs", "service-cidr", "10.43.0.0/16"))
K3S_ARGUMENTS = ("extra_server_args", "extra_args")
# rke2-ansible combines these (roles/rke2/tasks/config.yml), later ones over earlier ones, key by key;
# rke2_config is what older releases read.
RKE2_CONFIG_VARIABLES = ("rke2_config", "cluster_rke2_config", "group_rke2_config", "host_rke2_config")
# RKE2's charts: CNI -> (features, ports)
RKE2_CNIS = {"canal": (["canal"], {}), "flannel": (["flannel_vxlan"], {"flannel_vxlan": 4789}),
             "calico": (["calico_health", "calico_vxlan", "calico_typha"], {}),
             "cilium": (["cilium_health", "cilium_vxlan"], {})}
UNREADABLE = "__unreadable__"     # the variables installer_variables could not template offline


def truthy(value):
    return value is True or (isinstance(value, str) and value.strip().lower() in ("true", "yes", "1", "on"))


def falsy(value):
    return value is False or (isinstance(value, str) and value.strip().lower() in ("false", "no", "0", "off"))


def text(variables, key, default=None):
    value = variables.get(key)
    return str(value).strip() if isinstance(value, (str, int)) and str(value).strip() else default


def port_value(value, allow_range=False):
    """A port (int) or, with allow_range, "LOW-HIGH" from an inventory value; None when it is neither."""
    value = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    match = re.match(r"^(\d{1,5})(?:[-:](\d{1,5}))?$", value)
    if not match or (match.group(2) and not allow_range):
        return None
    numbers = [int(number) for number in match.groups() if number]
    if not all(1 <= number <= 65535 for number in numbers) or numbers != sorted(numbers):
        return None
    return numbers[0] if len(numbers) == 1 else "%d-%d" % tuple(numbers)


def _calico(variables, backend, ipip, vxlan, origin):
    features = ["calico_health"] + (["calico_bgp"] if backend.lower() == "bird" else [])
    features += ["calico_ipip"] if ipip.lower() != "never" else []
    features += ["calico_vxlan"] if vxlan.lower() != "never" else []
    features += ["calico_typha"] if truthy(variables.get("typha_enabled")) else []
    features += ["calico_wireguard"] if truthy(variables.get("calico_wireguard_enabled")) else []
    return {"cni": "calico", "features": features, "ports": _cni_ports(variables, features), "origin": origin}


def _cni_ports(variables, features):
    ports = {}
    for key, variable in KUBESPRAY_CNI_PORTS:
        port = port_value(variables.get(variable))
        if key in features and port:
            ports[key] = port
    return ports


def _cilium(variables, tunnel, origin):
    features = ["cilium_health"] + (["cilium_" + tunnel] if tunnel in ("vxlan", "geneve") else [])
    if truthy(variables.get("cilium_encryption_enabled")):
        kind = text(variables, "cilium_encryption_type", "ipsec").lower()
        features.append("cilium_wireguard" if kind == "wireguard" else "cilium_ipsec")
        origin += ", cilium_encryption_type %s" % kind
    if truthy(variables.get("cilium_enable_hubble")):
        features.append("cilium_hubble")
    return {"cni": "cilium", "features": features, "ports": {}, "origin": origin + ")"}


def _kubespray_cni(variables):
    plugin = (text(variables, "kube_network_plugin") or "").lower()
    if not plugin:
        return None
    value = dict((key, text(variables, key, default)) for key, default in KUBESPRAY_CNI_DEFAULTS.items())
    origin = "kubespray's kube_network_plugin %s" % plugin
    if plugin == "calico":
        modes = (value["calico_network_backend"], value["calico_vxlan_mode"], value["calico_ipip_mode"])
        return _calico(variables, value["calico_network_backend"], value["calico_ipip_mode"], value["calico_vxlan_mode"],
                       origin + " (calico_network_backend %s, calico_vxlan_mode %s, calico_ipip_mode %s; kubespray's "
                       "defaults where unset)" % modes)
    if plugin == "flannel":
        backend = value["flannel_backend_type"]
        features = [FLANNEL_BACKENDS[backend]] if backend in FLANNEL_BACKENDS else []
        return {"cni": "flannel", "features": features, "ports": _cni_ports(variables, features),
                "origin": origin + " (flannel_backend_type %s)" % backend}
    if plugin == "cilium":
        return _cilium(variables, value["cilium_tunnel_mode"], origin + " (cilium_tunnel_mode %s" % value["cilium_tunnel_mode"])
    if plugin == "kube-router":
        return {"cni": "kube-router", "features": ["kube_router"], "ports": {}, "origin": origin}
    return {"cni": plugin, "features": [], "ports": {}, "origin": origin}


def k3s_setting(variables, flag):
    """(value, origin) of a k3s server flag as k3s-ansible passes it: extra_server_args (techno-tim:
    extra_args), else server_config_yaml (k3s's config file); (None, None) when none sets it."""
    for key in K3S_ARGUMENTS:
        match = re.search(r"--%s[= ]+[\"']?([^\s\"']+)" % re.escape(flag), text(variables, key) or "")
        if match:
            return match.group(1), "k3s-ansible's %s --%s" % (key, flag)
    match = re.search(r"^\s*%s:\s*[\"']?([^\s\"'#]+)" % re.escape(flag), text(variables, "server_config_yaml") or "", re.M)
    if match:
        return match.group(1), "k3s-ansible's server_config_yaml %s" % flag
    return None, None


def _techno_tim_cilium(variables):
    mode = text(variables, "cilium_mode", "native")
    found = _cilium({"cilium_enable_hubble": variables.get("cilium_hubble", True)}, "none" if mode == "native" else "vxlan",
                    "techno-tim/k3s-ansible's cilium_iface (cilium_mode %s: %s" % (
                        mode, "native routing, no tunnel" if mode == "native" else "Cilium's VXLAN tunnel"))
    if truthy(variables.get("cilium_bgp")):
        found["features"].append("cilium_bgp")
    return found


def _k3s_cni(variables):
    """k3s's embedded flannel (VXLAN unless --flannel-backend says otherwise), or techno-tim's
    Calico or Cilium in its place (calico_iface, cilium_iface: its extra_server_args then pass
    --flannel-backend=none)."""
    backend, origin = k3s_setting(variables, "flannel-backend")
    if backend in (None, "none") and text(variables, "calico_iface"):
        encapsulation = text(variables, "calico_encapsulation", "VXLANCrossSubnet")
        vxlan = "Always" if "vxlan" in encapsulation.lower() else "Never"
        ipip = "Always" if "ipip" in encapsulation.lower() else "Never"
        return _calico(variables, "bird", ipip, vxlan, "techno-tim/k3s-ansible's calico_iface (calico_encapsulation %s)"
                       % encapsulation)
    if backend in (None, "none") and text(variables, "cilium_iface"):
        return _techno_tim_cilium(variables)
    if backend is None:
        unread = [key for key in K3S_ARGUMENTS + ("server_config_yaml",) if key in (variables.get(UNREADABLE) or ())]
        why = ("%s could not be read offline: a --flannel-backend there is not seen" % ", ".join(unread) if unread
               else "no --flannel-backend in k3s-ansible's variables")
        return {"cni": "flannel", "features": ["flannel_vxlan"], "ports": {}, "default": True,
                "origin": "k3s's default flannel backend vxlan (%s)" % why}
    return {"cni": "flannel" if backend != "none" else None,
            "features": [FLANNEL_BACKENDS[backend]] if backend in FLANNEL_BACKENDS else [], "ports": {},
            "origin": "%s %s" % (origin, backend)}


def rke2_config(variables):
    """({key: value}, {key: variable}): RKE2's config as rke2-ansible writes it, cluster_rke2_config,
    then group_rke2_config, then host_rke2_config, combined key by key (lists: the later's items first)."""
    merged, origins = {}, {}
    for variable in RKE2_CONFIG_VARIABLES:
        config = variables.get(variable)
        for key, value in (config.items() if isinstance(config, dict) else ()):
            if isinstance(value, list) and isinstance(merged.get(key), list):
                value = list(value) + [item for item in merged[key] if item not in value]
            merged[key], origins[key] = value, variable
    return merged, origins


def _rke2_cni(variables):
    """RKE2's default CNI is canal; Multus delegates to the CNI listed after it; each CNI's mode is
    what RKE2's chart sets by default."""
    config, origins = rke2_config(variables)
    names = config.get("cni")
    if names in (None, "", []):
        cni, origin = "canal", "RKE2's default CNI canal (no cni in rke2-ansible's variables)"
    else:
        names = [part.strip() for part in names.split(",")] if isinstance(names, str) else [str(n) for n in names]
        names = [name for name in names if name and name != "multus"]
        cni, origin = (names[0] if names else None), "rke2-ansible's %s cni: %s" % (origins["cni"], ", ".join(names))
    features, ports = RKE2_CNIS.get(cni, ([], {}))
    if features and cni != "canal":
        origin += " (RKE2's rke2-%s chart defaults)" % cni
    return {"cni": cni if cni != "none" else None, "features": list(features), "ports": dict(ports), "origin": origin,
            "default": names in (None, "", [])}


def installer_cni(variables, group_names):
    """The CNI and its mode as the installer's variables give them, for a node not detected:
    {"cni", "features", "ports", "origin", ["default": true: the distribution's default, no variable
    said; k3s's and RKE2's CNI is the servers' setting, which an agent's variables may not hold]}
    ("features" empty: the mode is unknown), or None when no
    installer's variables say. kubespray: kube_network_plugin; k3s-ansible (k3s-io, techno-tim):
    a host of k3s_cluster; rke2-ansible: a host of rke2_servers or rke2_agents."""
    variables, groups = variables or {}, set(group_names or ())
    found = _kubespray_cni(variables)
    if found is None and "k3s_cluster" in groups and groups & set(K3S_GROUPS):
        found = _k3s_cni(variables)
    if found is None and groups & set(RKE2_GROUPS):
        found = _rke2_cni(variables)
    return found


def _flag_reader(variables, groups):
    """A reader of a server flag -> (value, origin) for a k3s or RKE2 server, else None."""
    if "k3s_cluster" in groups and groups & set(K3S_SERVER_GROUPS):
        return lambda flag: k3s_setting(variables, flag)
    if "rke2_servers" in groups:
        config, origins = rke2_config(variables)
        return lambda flag: ((config[flag], "rke2-ansible's %s %s" % (origins[flag], flag)) if config.get(flag)
                             else (None, None))
    return None


def installer_ports(variables, group_names):
    """({port key: port}, {port key: origin}) the installer's variables move: kubespray's
    kube_apiserver_port and kube_apiserver_node_port_range; a k3s or RKE2 server's
    https-listen-port and service-node-port-range (k3s-ansible's api_port is the port of its
    api_endpoint, which may be a load balancer's: not the server's)."""
    variables, groups = variables or {}, set(group_names or ())
    ports, origins = {}, {}
    for key, variable in KUBESPRAY_PORTS:
        port = port_value(variables.get(variable), allow_range=key == "nodeport_range")
        if port:
            ports[key], origins[key] = port, "kubespray's %s" % variable
    reader = _flag_reader(variables, groups)
    for key, flag in (K3S_PORT_FLAGS if reader else ()):
        value, origin = reader(flag)
        port = port_value(value, allow_range=key == "nodeport_range")
        if port and key not in ports:
            ports[key], origins[key] = port, origin
    return ports, origins


def _networks_of(value):
    items = value if isinstance(value, list) else str(value).split(",")
    return [str(item).strip() for item in items if looks_like_address(str(item).strip())]


def installer_networks(variables, group_names):
    """({pod_cidrs, service_cidrs}, {key: origin}) of a k3s or RKE2 server (agents take no
    cluster-cidr: the servers' is the cluster's): the flags, else techno-tim's cluster_cidr where
    its extra_server_args pass it (calico_iface, cilium_iface), else the default k3s and RKE2 apply.
    Nothing when a variable that may set them could not be read offline."""
    variables, groups = variables or {}, set(group_names or ())
    reader = _flag_reader(variables, groups)
    unreadable = set(variables.get(UNREADABLE) or ()) & set(K3S_ARGUMENTS + ("server_config_yaml",) + RKE2_CONFIG_VARIABLES)
    if reader is None or unreadable:
        return {}, {}
    installer = "RKE2" if "rke2_servers" in groups else "k3s"
    networks, origins = {}, {}
    for key, flag, default in K3S_NETWORK_FLAGS:
        value, origin = reader(flag)
        if value is None and key == "pod_cidrs" and installer == "k3s" and (
                text(variables, "calico_iface") or text(variables, "cilium_iface")) and text(variables, "cluster_cidr"):
            value, origin = variables["cluster_cidr"], ("techno-tim/k3s-ansible's cluster_cidr (its extra_server_args "
                                                        "pass it as --cluster-cidr with calico_iface or cilium_iface)")
        if value is None:
            value, origin = default, "%s's default %s (none in the installer's variables)" % (installer, flag)
        if _networks_of(value):
            networks[key], origins[key] = _networks_of(value), origin
    return networks, origins
