# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Offline plans (plan.yml: no node detected) of installers' inventories with values other than the
defaults: the ports, networks and CNI modes each installer's own variables set, as the installers'
roles and defaults read them. The variable names and defaults below are the upstream ones:

- kubespray 46dbdd3994b32640bcd806b0097f50e8fdf1d514: inventory/sample/group_vars/k8s_cluster/
  k8s-cluster.yml, roles/kubespray_defaults/defaults/main/main.yml (kube_apiserver_port 6443,
  ipv4_stack, ipv6_stack, kube_proxy_remove), roles/kubernetes/control-plane/defaults/main/main.yml
  (kube_apiserver_node_port_range), roles/network_plugin/{calico_defaults,flannel,cilium}/defaults
  (calico_bgp_listen_port, calico_wireguard_enabled, calico_bpf_enabled, flannel_vxlan_port,
  cilium_encryption_enabled/_type, cilium_enable_hubble, cilium_kube_proxy_replacement);
- k3s-io/k3s-ansible 281554e2522ab370014526ad734e0ec53b023e7c: inventory-sample.yml (extra_server_args,
  server_config_yaml, api_port), roles/prereq/vars/main.yml (cluster-cidr 10.42.0.0/16, service-cidr
  10.43.0.0/16 unless server_config_yaml says);
- techno-tim/k3s-ansible 422621c69cdc7f57381dadaf6c26c8b3f4ff447a: inventory/sample/group_vars/all.yml
  (cluster_cidr, passed as --cluster-cidr only with calico_iface or cilium_iface), roles/k3s_server_post
  (cilium_mode -> routingMode, cilium_hubble, cilium_bgp);
- rancherfederal/rke2-ansible 629e070f47488d883aaa851892ad996e8eb8198b: roles/rke2/tasks/config.yml
  (cluster_rke2_config, then group_rke2_config, then host_rke2_config combined key by key);
  rancher/rke2-charts 262e21a4: rke2-flannel backendPort 4789, rke2-calico VXLAN with BGP disabled,
  rke2-cilium (Cilium's default VXLAN tunnel); rke2-docs install/requirements.md.
"""
from __future__ import annotations

import pytest

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.installers import installer_cni
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.inventory import (
    build_inventory,
    installer_variables,
)
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.profile import build_profile

KUBESPRAY_CP = ["etcd", "k8s_cluster", "kube_control_plane"]
K3S_SERVER = ["k3s_cluster", "server"]
K3S_AGENT = ["k3s_cluster", "agent"]


def offline(installer, groups):
    """The profile plan.yml makes of a node it does not connect to."""
    return build_profile("n1", groups, {}, {}, installer=installer)


# ---- ports the installers' variables move

@pytest.mark.parametrize("installer, groups, ports", [
    # kubespray: kubeadm's bindPort is kube_apiserver_port; --service-node-port-range is
    # kube_apiserver_node_port_range (an INI inventory gives strings)
    ({"kube_apiserver_port": 8443, "kube_apiserver_node_port_range": "31000-31999"}, KUBESPRAY_CP,
     {"apiserver": 8443, "nodeport_range": "31000-31999"}),
    ({"kube_apiserver_port": "8443"}, KUBESPRAY_CP, {"apiserver": 8443}),
    ({"kube_network_plugin": "flannel", "flannel_vxlan_port": 8999}, KUBESPRAY_CP, {"flannel_vxlan": 8999}),
    ({"kube_network_plugin": "calico", "calico_network_backend": "bird", "calico_vxlan_mode": "Never",
      "calico_bgp_listen_port": 1790}, KUBESPRAY_CP, {"calico_bgp": 1790}),
    # k3s-ansible: k3s's own flags in extra_server_args, or its config file in server_config_yaml
    ({"extra_server_args": "--https-listen-port=7443 --service-node-port-range 31000-31999"}, K3S_SERVER,
     {"apiserver": 7443, "nodeport_range": "31000-31999"}),
    ({"server_config_yaml": "https-listen-port: 7443\nservice-node-port-range: \"31000-31999\"\n"}, K3S_SERVER,
     {"apiserver": 7443, "nodeport_range": "31000-31999"}),
    # rke2-ansible: RKE2's config
    ({"group_rke2_config": {"service-node-port-range": "31000-31999"}}, ["rke2_servers"],
     {"nodeport_range": "31000-31999"}),
])
def test_the_ports_an_installers_variables_set_are_planned(installer, groups, ports):
    profile = offline(installer, groups)
    assert dict((key, profile["ports"].get(key)) for key in ports) == ports, profile["ports"]
    for key in ports:
        assert profile["port_origins"][key] != "catalog default", profile["port_origins"]


def test_k3s_ansibles_api_port_is_the_endpoints_port_not_the_servers():
    """k3s-ansible's api_port is where agents reach api_endpoint (a load balancer may stand there);
    it passes no --https-listen-port: the server listens on 6443 still."""
    profile = offline({"extra_server_args": ""}, K3S_SERVER)
    assert "apiserver" not in profile["ports"]


def test_the_users_microseg_ports_win_over_the_installers():
    profile = build_profile("n1", KUBESPRAY_CP, {}, {}, ports={"apiserver": 9443},
                            installer={"kube_apiserver_port": 8443})
    assert profile["ports"]["apiserver"] == 9443 and profile["port_origins"]["apiserver"] == "microseg_ports"


# ---- the CNI's modes

@pytest.mark.parametrize("variables, groups, features", [
    ({"kube_network_plugin": "calico", "calico_wireguard_enabled": True}, KUBESPRAY_CP,
     ["calico_health", "calico_vxlan", "calico_wireguard"]),
    ({"kube_network_plugin": "cilium", "cilium_encryption_enabled": True, "cilium_encryption_type": "wireguard"},
     KUBESPRAY_CP, ["cilium_health", "cilium_vxlan", "cilium_wireguard"]),
    ({"kube_network_plugin": "cilium", "cilium_encryption_enabled": "true"}, KUBESPRAY_CP,
     ["cilium_health", "cilium_ipsec", "cilium_vxlan"]),
    ({"kube_network_plugin": "cilium", "cilium_tunnel_mode": "disabled", "cilium_enable_hubble": True}, KUBESPRAY_CP,
     ["cilium_health", "cilium_hubble"]),
    # techno-tim: cilium_mode is Cilium's routingMode (native: no tunnel); hubble and BGP as its flags say
    ({"cilium_iface": "eth0", "cilium_mode": "native", "cilium_hubble": True}, K3S_SERVER,
     ["cilium_health", "cilium_hubble"]),
    ({"cilium_iface": "eth0", "cilium_mode": "tunnel", "cilium_hubble": False, "cilium_bgp": True}, K3S_SERVER,
     ["cilium_bgp", "cilium_health", "cilium_vxlan"]),
    # RKE2's charts: flannel VXLAN, Calico VXLAN (BGP disabled) with Typha (the operator deploys it), Cilium VXLAN
    ({"group_rke2_config": {"cni": "flannel"}}, ["rke2_servers"], ["flannel_vxlan"]),
    ({"group_rke2_config": {"cni": ["calico"]}}, ["rke2_agents"], ["calico_health", "calico_typha", "calico_vxlan"]),
    ({"group_rke2_config": {"cni": ["cilium"]}}, ["rke2_servers"], ["cilium_health", "cilium_vxlan"]),
])
def test_the_cni_mode_from_the_installers_variables(variables, groups, features):
    assert sorted(installer_cni(variables, groups)["features"]) == features


def test_rke2s_flannel_listens_on_4789_not_flannels_8472():
    """rke2-charts packages/rke2-flannel: backendPort 4789, vni 4096 (rke2-docs: Flannel CNI with VXLAN 4789/udp)."""
    profile = offline({"group_rke2_config": {"cni": "flannel"}}, ["rke2_agents"])
    assert profile["ports"]["flannel_vxlan"] == 4789


def test_rke2_config_is_combined_key_by_key_as_rke2_ansible_does():
    """roles/rke2/tasks/config.yml: cluster_rke2_config, then group_rke2_config, then host_rke2_config."""
    variables = {"cluster_rke2_config": {"cni": "calico", "service-node-port-range": "31000-31999"},
                 "group_rke2_config": {"cni": "cilium"}, "host_rke2_config": {"node-ip": "10.0.0.5"}}
    assert installer_cni(variables, ["rke2_servers"])["cni"] == "cilium"
    assert offline(variables, ["rke2_servers"])["ports"]["nodeport_range"] == "31000-31999"


def test_a_cni_named_without_a_known_mode_is_said():
    profile = offline({"kube_network_plugin": "kube-ovn"}, KUBESPRAY_CP)
    assert [note for note in profile["notes"] if "kube-ovn" in note and "unknown" in note], profile["notes"]


# ---- kube-proxy, as kubespray deploys it or not

@pytest.mark.parametrize("installer", [
    {"kube_proxy_mode": "ipvs", "kube_proxy_remove": True},
    {"kube_proxy_mode": "ipvs", "kube_network_plugin": "cilium", "cilium_kube_proxy_replacement": True},
    {"kube_proxy_mode": "ipvs", "kube_network_plugin": "cilium", "cilium_kube_proxy_replacement": "strict"},
    {"kube_proxy_mode": "ipvs", "kube_network_plugin": "calico", "calico_bpf_enabled": True},
])
def test_no_ipvs_rows_where_kubespray_deploys_no_kube_proxy(installer):
    """kubespray_defaults kubeadm_init_phases_skip: addon/kube-proxy is skipped for these."""
    profile = offline(installer, KUBESPRAY_CP)
    assert "kube_proxy_ipvs" not in profile["features"]
    assert [note for note in profile["notes"] if "kube-proxy" in note], profile["notes"]


# ---- the pod and Service networks

def networks(hostvars, groups):
    hosts = build_inventory(hostvars, groups)["hosts"]
    return dict((name, dict((key, (entry["networks"], entry["origin"])) for key, entry in
                            host.get("cluster_networks", {}).items())) for name, host in hosts.items())


def test_kubespray_ipv6_only_uses_no_ipv4_network():
    """ipv4_stack: false, ipv6_stack: true (kubespray_defaults): kube_pods_subnet is not used."""
    variables = {"kube_pods_subnet": "10.233.64.0/18", "kube_service_addresses": "10.233.0.0/18",
                 "kube_pods_subnet_ipv6": "fd85:ee78:d8a6:8607::1:0000/112",
                 "kube_service_addresses_ipv6": "fd85:ee78:d8a6:8607::1000/116", "ipv4_stack": False, "ipv6_stack": True}
    found = networks({"n1": dict(variables, group_names=KUBESPRAY_CP)}, {"all": ["n1"]})["n1"]
    assert found["pod_cidrs"][0] == ["fd85:ee78:d8a6:8607::1:0000/112"]
    assert found["service_cidrs"][0] == ["fd85:ee78:d8a6:8607::1000/116"]
    assert "kube_pods_subnet_ipv6" in found["pod_cidrs"][1]


@pytest.mark.parametrize("variables, pods, services", [
    # k3s-io/k3s-ansible: k3s's defaults (its prereq role assumes them too)
    ({"extra_server_args": ""}, ["10.42.0.0/16"], ["10.43.0.0/16"]),
    ({"extra_server_args": "--cluster-cidr=10.52.0.0/16,fd00:52::/56 --service-cidr 10.53.0.0/16"},
     ["10.52.0.0/16", "fd00:52::/56"], ["10.53.0.0/16"]),
    ({"server_config_yaml": "cluster-cidr: 10.52.0.0/16\nservice-cidr: \"10.53.0.0/16\"\n"},
     ["10.52.0.0/16"], ["10.53.0.0/16"]),
])
def test_k3s_networks_from_the_server_flags_or_k3s_defaults(variables, pods, services):
    hostvars = {"s1": dict(variables, group_names=K3S_SERVER), "a1": dict(variables, group_names=K3S_AGENT)}
    found = networks(hostvars, {"all": ["s1", "a1"], "server": ["s1"], "agent": ["a1"], "k3s_cluster": ["s1", "a1"]})
    assert found["s1"]["pod_cidrs"][0] == pods and found["s1"]["service_cidrs"][0] == services
    assert found["a1"] == {}                # agents take no cluster-cidr: the servers' is the cluster's


def test_techno_tims_cluster_cidr_counts_only_with_calico_or_cilium():
    """Its sample sets cluster_cidr: 10.52.0.0/16 but passes it (--cluster-cidr) only with
    calico_iface or cilium_iface; with flannel k3s keeps 10.42.0.0/16."""
    groups = ["k3s_cluster", "master"]
    flannel = networks({"s1": {"cluster_cidr": "10.52.0.0/16", "extra_server_args": "--disable traefik",
                               "group_names": groups}}, {"all": ["s1"]})["s1"]
    assert flannel["pod_cidrs"][0] == ["10.42.0.0/16"]
    calico = networks({"s1": {"cluster_cidr": "10.52.0.0/16", "calico_iface": "eth0", "group_names": groups}},
                      {"all": ["s1"]})["s1"]
    assert calico["pod_cidrs"][0] == ["10.52.0.0/16"] and "cluster_cidr" in calico["pod_cidrs"][1]


def test_k3s_flags_that_cannot_be_read_offline_leave_the_networks_unknown():
    """techno-tim's extra_server_args names a gathered fact: it may hold --cluster-cidr, so k3s's
    default is not assumed."""
    class HostVars(dict):
        def get(self, key, default=None):
            if key == "extra_server_args":
                raise ValueError("'dict object' has no attribute 'eth0'")
            return dict.get(self, key, default)
    host = HostVars(group_names=["k3s_cluster", "master"], cluster_cidr="10.52.0.0/16")
    assert installer_variables(host)["extra_server_args"] is None
    assert networks({"s1": host}, {"all": ["s1"]})["s1"] == {}


def test_an_undefined_marker_is_unreadable_too():
    """ansible-core 2.19 gives a filter the host variable that failed to template as a marker, a
    subclass of jinja2's Undefined, instead of raising (techno-tim's sample: extra_server_args)."""
    class Undefined(object):
        pass

    class UndefinedMarker(Undefined):
        pass
    host = {"group_names": ["k3s_cluster", "master"], "extra_server_args": UndefinedMarker()}
    variables = installer_variables(host)
    assert variables["extra_server_args"] is None and "extra_server_args" in variables["__unreadable__"]
    assert networks({"s1": host}, {"all": ["s1"]})["s1"] == {}
    assert "extra_server_args could not be read offline" in installer_cni(variables, host["group_names"])["origin"]


@pytest.mark.parametrize("variables, pods, services", [
    ({}, ["10.42.0.0/16"], ["10.43.0.0/16"]),
    ({"cluster_rke2_config": {"cluster-cidr": "10.62.0.0/16", "service-cidr": "10.63.0.0/16"}},
     ["10.62.0.0/16"], ["10.63.0.0/16"]),
])
def test_rke2_networks_from_its_config_or_rke2_defaults(variables, pods, services):
    found = networks({"s1": dict(variables, group_names=["rke2_servers"])}, {"all": ["s1"]})["s1"]
    assert found["pod_cidrs"][0] == pods and found["service_cidrs"][0] == services
