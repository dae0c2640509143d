# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.installers import installer_cni
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.inventory import (
    addresses_and_origin,
    installer_variables,
    build_inventory,
    host_addresses,
)
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.plan import compile_plan

FACTS = {"default_ipv4": {"address": "10.0.0.5"}, "default_ipv6": {"address": "fd00::5"}}


@pytest.mark.parametrize("host_vars, expected", [
    ({"microseg_node_addresses": ["192.0.2.1"], "ansible_facts": FACTS, "ansible_host": "192.0.2.9"}, ["192.0.2.1"]),
    ({"microseg_node_addresses": "192.0.2.1"}, ["192.0.2.1"]),
    ({"ansible_facts": FACTS, "ansible_host": "192.0.2.9"}, ["10.0.0.5", "fd00::5"]),
    ({"ansible_facts": {"default_ipv4": {}}, "ansible_host": "192.0.2.9"}, ["192.0.2.9"]),
    ({"ansible_host": "node1.example.com"}, []),
    ({}, []),
    # kubespray: the cluster address before the facts and the (public) connection address
    # ... and the gathered address of the family none of ip/access_ip/ip6/access_ip6 gives (kubespray's
    # fallback, roles/network_facts): a dual-stack node with only `ip` set keeps its IPv6
    ({"ip": "10.3.0.1", "ansible_host": "95.54.0.12", "ansible_facts": FACTS}, ["10.3.0.1", "fd00::5"]),
    ({"ip": "10.3.0.1", "ip6": "fd00:3::1", "access_ip6": "2001:db8:3::1", "ansible_facts": FACTS},
     ["10.3.0.1", "fd00:3::1", "2001:db8:3::1"]),
    ({"ip6": "fd00:3::1", "ansible_facts": FACTS}, ["fd00:3::1", "10.0.0.5"]),
    ({"ip": "10.3.0.1", "ip6": "fd00:3::1", "access_ip6": "fd00:3::1"}, ["10.3.0.1", "fd00:3::1"]),
    ({"ip": "10.3.0.1", "access_ip": "10.4.0.1", "ansible_host": "95.54.0.12"}, ["10.3.0.1", "10.4.0.1"]),
    ({"ip": "10.3.0.1", "access_ip": "10.3.0.1"}, ["10.3.0.1"]),
    ({"microseg_node_addresses": ["192.0.2.1"], "ip": "10.3.0.1"}, ["192.0.2.1"]),
    # k3s-ansible's sample names its hosts by address
    ({"inventory_hostname": "192.16.35.11"}, ["192.16.35.11"]),
    ({"inventory_hostname": "node1"}, []),
])
def test_host_addresses_precedence(host_vars, expected):
    assert host_addresses(host_vars) == expected


def test_build_inventory_reads_roles_override_and_groups():
    hostvars = {"a": {"ansible_host": "192.0.2.1"}, "b": {"ansible_host": "192.0.2.2", "microseg_roles": "kube_node"}}
    groups = {"all": ["a", "b"], "kube_control_plane": ["a"], "ungrouped": []}
    assert build_inventory(hostvars, groups) == {
        "hosts": {"a": {"addresses": ["192.0.2.1"], "address_origin": "ansible_host"},
                  "b": {"addresses": ["192.0.2.2"], "address_origin": "ansible_host", "roles": ["kube_node"]}},
        "groups": groups,
        "group_map": {},
    }
    assert list(build_inventory(hostvars, groups, hosts=["b"])["hosts"]) == ["b"]


def test_profile_roles_are_used_unless_the_user_sets_roles():
    hostvars = {"a": {"microseg_profile": {"roles": ["swarm_worker"]}},
                "b": {"microseg_profile": {"roles": ["swarm_worker"]}, "microseg_roles": ["kube_node"]}}
    hosts = build_inventory(hostvars, {"all": ["a", "b"]})["hosts"]
    assert hosts["a"]["roles"] == ["swarm_worker"] and hosts["b"]["roles"] == ["kube_node"]


def test_cluster_wide_ports_travel_with_the_inventory():
    hostvars = {"cp": {"microseg_profile": {"roles": ["kube_control_plane"],
                                            "ports": {"nodeport_range": "31000-31999", "apiserver": 8443},
                                            "port_origins": {"nodeport_range": "manifest"}}}}
    entry = build_inventory(hostvars, {"all": ["cp"]})["hosts"]["cp"]
    assert entry["cluster_ports"] == {"nodeport_range": "31000-31999"}
    assert entry["cluster_port_origins"] == {"nodeport_range": "manifest"}


@pytest.mark.parametrize("host_vars, origin", [
    ({"ip": "10.3.0.1", "ip6": "fd00:3::1", "access_ip6": "2001:db8:3::1"}, "ip and ip6 and access_ip6"),
    ({"ip": "10.3.0.1", "ansible_facts": FACTS}, "ip and the gathered IPv6 address"),
    ({"ip": "10.3.0.1"}, "ip"),
])
def test_the_origin_names_kubesprays_variables_and_the_gathered_fallback(host_vars, origin):
    assert addresses_and_origin(host_vars)[1] == origin


def test_a_dual_stack_kubespray_node_is_an_ipv6_cluster_peer():
    """Issue 34 item 5: kubespray's ip6/access_ip6 reach the cluster node set in IPv6 too."""
    hostvars = {"node1": {"ip": "10.3.0.1", "ip6": "fd00:3::1"},
                "node2": {"ip": "10.3.0.2", "access_ip6": "2001:db8:3::2"},
                "node3": {"ip": "10.3.0.3", "ansible_facts": FACTS}}
    groups = {"all": ["node1", "node2", "node3"], "kube_control_plane": ["node1"], "kube_node": ["node2", "node3"]}
    plan = compile_plan({"name": "node2"}, build_inventory(hostvars, groups),
                        {"mode": "host", "state": "block"})
    assert plan["sets"]["cluster_nodes"]["ipv6"] == ["2001:db8:3::2/128", "fd00::5/128", "fd00:3::1/128"]


@pytest.mark.parametrize("variables, groups, cni, features", [
    # kubespray: calico with its defaults (VXLAN always), or the BGP + IP-in-IP its older defaults had
    ({"kube_network_plugin": "calico"}, ["kube_node"], "calico", ["calico_health", "calico_vxlan"]),
    ({"kube_network_plugin": "calico", "calico_network_backend": "bird", "calico_ipip_mode": "Always",
      "calico_vxlan_mode": "Never", "typha_enabled": True}, ["kube_node"], "calico",
     ["calico_health", "calico_bgp", "calico_ipip", "calico_typha"]),
    ({"kube_network_plugin": "flannel"}, ["kube_node"], "flannel", ["flannel_vxlan"]),
    ({"kube_network_plugin": "flannel", "flannel_backend_type": "host-gw"}, [], "flannel", ["flannel_host_gw"]),
    ({"kube_network_plugin": "cilium"}, [], "cilium", ["cilium_health", "cilium_vxlan"]),
    ({"kube_network_plugin": "custom_cni"}, [], "custom_cni", []),
    # k3s-ansible: flannel VXLAN unless --flannel-backend (extra_server_args, server_config_yaml) says
    ({}, ["k3s_cluster", "agent"], "flannel", ["flannel_vxlan"]),
    ({"extra_server_args": "--flannel-backend=wireguard-native --disable traefik"}, ["k3s_cluster", "server"],
     "flannel", ["flannel_wireguard"]),
    ({"server_config_yaml": "write-kubeconfig-mode: 644\nflannel-backend: host-gw\n"}, ["k3s_cluster", "server"],
     "flannel", ["flannel_host_gw"]),
    ({"extra_server_args": "--flannel-backend=none"}, ["k3s_cluster", "server"], None, []),
    # techno-tim/k3s-ansible: calico_iface (tigera operator, VXLANCrossSubnet by its default)
    ({"calico_iface": "eth0"}, ["k3s_cluster", "master"], "calico", ["calico_health", "calico_bgp", "calico_vxlan"]),
    ({}, ["agent"], None, None),                                    # `agent` outside k3s_cluster is nothing
    # rke2-ansible: RKE2's default canal; multus delegates to the next
    ({}, ["rke2_agents"], "canal", ["canal"]),
    ({"group_rke2_config": {"cni": ["multus", "canal"]}}, ["rke2_servers"], "canal", ["canal"]),
    ({"cluster_rke2_config": {"cni": "cilium"}}, ["rke2_servers"], "cilium", ["cilium_health", "cilium_vxlan"]),
])
def test_the_cni_from_the_installers_variables(variables, groups, cni, features):
    found = installer_cni(variables, groups)
    if features is None:
        assert found is None
    else:
        assert (found["cni"], found["features"]) == (cni, features), found


def test_a_variable_that_cannot_be_templated_offline_is_left_out():
    class HostVars(dict):
        def get(self, key, default=None):
            if key == "extra_server_args":
                raise ValueError("object of type 'dict' has no attribute 'eth0'")
            return dict.get(self, key, default)
    variables = installer_variables(HostVars(kube_proxy_mode="ipvs"))
    assert variables["extra_server_args"] is None and variables["kube_proxy_mode"] == "ipvs"
