# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The catalog against the port table of the reference (written out here independently)."""
from __future__ import annotations

import pytest

from ansible_collections.microseg.cluster_firewall.plugins.module_utils import catalog

# feature -> {(proto, default port or None, peers)}
EXPECTED = {
    "k8s_control_plane": {("tcp", 6443, ("any",)), ("tcp", 10259, ("self",)), ("tcp", 10257, ("self",))},
    "etcd": {("tcp", 2379, ("control_plane",)), ("tcp", 2380, ("control_plane",))},
    "kubelet": {("tcp", 10250, ("self", "cluster_nodes", "pod_network"))},
    "kube_proxy_ipvs": {("all", None, ("pod_network", "cluster_nodes")), ("all", None, ("any",))},
    "rke2_supervisor": {("tcp", 9345, ("cluster_nodes",))},
    "k3s_embedded_registry": {("tcp", 5001, ("cluster_nodes",)), ("tcp", 6443, ("cluster_nodes",))},
    "kubelet_readonly": {("tcp", 10255, ("self", "cluster_nodes", "pod_network"))},
    "microk8s": {("tcp", 25000, ("cluster_nodes",))},
    "microk8s_dqlite": {("tcp", 19001, ("control_plane",))},
    "k0s_controller": {("tcp", 9443, ("control_plane",)), ("tcp", 8132, ("cluster_nodes",))},
    "k0s_cplb": {("vrrp", None, ("control_plane",))},
    "kube_router": {("tcp", 179, ("cluster_nodes",)), ("ipip", None, ("cluster_nodes",))},
    "kube_router_fou": {("udp", 5555, ("cluster_nodes",))},
    "nodelocal_dns": {("udp", 53, ("pod_network",)), ("tcp", 53, ("pod_network",))},
    "k8s_nodeport": {("tcp", "30000-32767", ("any",)), ("udp", "30000-32767", ("any",))},
    "kube_proxy_healthz": {("tcp", 10256, ("any",))},
    "swarm_manager": {("tcp", 2377, ("swarm_nodes",))},
    "swarm_node": {("tcp", 7946, ("swarm_nodes",)), ("udp", 7946, ("swarm_nodes",)), ("udp", 4789, ("swarm_nodes",))},
    "swarm_encrypted": {("esp", None, ("swarm_nodes",))},
    "docker_tls": {("tcp", 2376, ("swarm_managers", "management"))},
    "flannel_vxlan": {("udp", 8472, ("cluster_nodes",))},
    "flannel_udp": {("udp", 8285, ("cluster_nodes",))},
    "flannel_wireguard": {("udp", 51820, ("cluster_nodes",)), ("udp", 51821, ("cluster_nodes",))},
    "flannel_tailscale": {("udp", 41641, ("cluster_nodes",))},
    "flannel_ipip": {("ipip", None, ("cluster_nodes",))},
    "calico_bgp": {("tcp", 179, ("cluster_nodes",))},
    "calico_ipip": {("ipip", None, ("cluster_nodes",))},
    "calico_vxlan": {("udp", 4789, ("cluster_nodes",))},
    "calico_typha": {("tcp", 5473, ("cluster_nodes",)), ("tcp", 9098, ("self", "cluster_nodes"))},
    "calico_health": {("tcp", 9099, ("self", "cluster_nodes"))},
    "calico_wireguard": {("udp", 51820, ("cluster_nodes",)), ("udp", 51821, ("cluster_nodes",))},
    "canal": {("udp", 8472, ("cluster_nodes",)), ("tcp", 9099, ("self", "cluster_nodes"))},
    "canal_wireguard": {("udp", 51820, ("cluster_nodes",)), ("udp", 51821, ("cluster_nodes",))},
    "flannel_ipsec": {("esp", None, ("cluster_nodes",)), ("udp", 500, ("cluster_nodes",)),
                      ("udp", 4500, ("cluster_nodes",))},
    "cilium_vxlan": {("udp", 8472, ("cluster_nodes",))},
    "cilium_geneve": {("udp", 6081, ("cluster_nodes",))},
    "cilium_health": {("tcp", 4240, ("cluster_nodes",)), ("icmp", None, ("cluster_nodes",)),
                      ("icmpv6", None, ("cluster_nodes",))},
    "cilium_ipsec": {("esp", None, ("cluster_nodes",))},
    "cilium_mutual_auth": {("tcp", 4250, ("cluster_nodes",))},
    "cilium_metrics": {("tcp", 9962, ("cluster_nodes", "pod_network"))},
    "cilium_bgp": {("tcp", 179, ("cluster_nodes",))},
    "cilium_wireguard": {("udp", 51871, ("cluster_nodes",))},
    "cilium_hubble": {("tcp", 4244, ("cluster_nodes",))},
    "antrea": {("tcp", 10350, ("cluster_nodes",))},
    "antrea_controller": {("tcp", 10349, ("cluster_nodes",))},
    "antrea_egress": {("tcp", 10351, ("cluster_nodes",)), ("udp", 10351, ("cluster_nodes",))},
    "antrea_geneve": {("udp", 6081, ("cluster_nodes",))},
    "antrea_vxlan": {("udp", 4789, ("cluster_nodes",))},
    "antrea_stt": {("tcp", 7471, ("cluster_nodes",))},
    "antrea_gre": {("gre", None, ("cluster_nodes",))},
    "antrea_wireguard": {("udp", 51820, ("cluster_nodes",))},
    "antrea_ipsec": {("esp", None, ("cluster_nodes",)), ("ah", None, ("cluster_nodes",)),
                     ("udp", 500, ("cluster_nodes",)), ("udp", 4500, ("cluster_nodes",))},
    "antrea_bgp": {("tcp", 179, ("cluster_nodes",))},
    "weave": {("tcp", 6783, ("cluster_nodes",)), ("udp", "6783-6784", ("cluster_nodes",))},
    "weave_encrypted": {("esp", None, ("cluster_nodes",))},
}
# Features that need nothing opened (and say so in the plan's notes).
NOTHING_NEEDED = {"flannel_host_gw", "docker_bridge", "docker_host", "docker_macvlan",
                  "cilium_kube_proxy_replacement", "cilium_host_firewall", "calico_endpoint_to_host_accept"}


@pytest.mark.parametrize("feature", sorted(EXPECTED))
def test_every_reference_row_is_in_the_catalog(feature):
    rows = {(entry.proto, entry.port, entry.peers) for entry in catalog.entries_for([feature])}
    assert rows == EXPECTED[feature]


@pytest.mark.parametrize("feature", sorted(NOTHING_NEEDED))
def test_features_that_need_nothing(feature):
    rows = catalog.entries_for([feature])
    assert rows and all(entry.proto is None and entry.port is None for entry in rows)


def test_catalog_has_no_feature_the_tests_do_not_know():
    assert set(catalog.FEATURES) == set(EXPECTED) | NOTHING_NEEDED


def test_every_row_is_documented_and_well_formed():
    ids = [entry.id for entry in catalog.ENTRIES]
    assert len(ids) == len(set(ids)), "row ids must be unique"
    for entry in catalog.ENTRIES:
        assert entry.why and entry.source, entry.id
        if entry.proto is None:
            continue
        assert entry.proto in catalog.PROTOCOLS, entry.id
        takes_ports = catalog.PROTOCOLS[entry.proto][2]
        assert (entry.port is not None) == takes_ports, entry.id
        assert (entry.port_key is not None) == takes_ports, entry.id
        for peer in entry.peers:
            assert peer in catalog.PEER_CLASSES, (entry.id, peer)


def test_rows_to_local_addresses_that_are_not_the_nodes_own():
    destinations = dict((entry.id, entry.to) for entry in catalog.ENTRIES if entry.to)
    assert destinations == {"k8s_service_ipvs": "service_network", "nodelocal_dns_udp": "nodelocal_dns",
                            "nodelocal_dns_tcp": "nodelocal_dns", "k8s_service_ipvs_local": "ipvs_addresses"}
    assert set(destinations.values()) <= set(catalog.DESTINATIONS)


def test_ipv6_only_rows():
    assert catalog.entries_for(["flannel_wireguard"])[1].families == ("ipv6",)
    assert catalog.entries_for(["calico_wireguard"])[1].families == ("ipv6",)


def test_roles_turn_on_features():
    # kube-proxy serves NodePorts on control planes as well
    assert catalog.features_of_roles(["kube_control_plane"]) == {"k8s_control_plane", "kubelet", "k8s_nodeport"}
    assert catalog.features_of_roles(["kube_node"]) == {"kubelet", "k8s_nodeport"}
    assert catalog.features_of_roles(["swarm_worker"]) == {"swarm_node"}
    assert catalog.features_of_roles(["swarm_manager"]) == {"swarm_manager", "swarm_node"}
    assert set(catalog.ROLES) == set(catalog.ROLE_FEATURES) == set(catalog.ROLE_GROUPS)


def test_port_keys_include_the_configurable_ports():
    for key in ("apiserver", "etcd_client", "etcd_peer", "kubelet", "scheduler", "controller_manager",
                "nodeport_range", "swarm_data_path", "flannel_vxlan", "calico_vxlan", "ssh"):
        assert key in catalog.PORT_KEYS


def test_management_and_base_rows():
    assert catalog.MANAGEMENT_SSH.port == 22 and catalog.MANAGEMENT_SSH.peers == ("management",)
    assert [match for match, _text, _source in catalog.BASE_MATCHES] == ["loopback"]
    essential = [match for match, _text, _source in catalog.ESSENTIAL_MATCHES]
    assert essential == ["established", "icmp_essential", "dhcpv6_client"]
    assert {130, 131, 132, 143} <= set(catalog.ICMP_ESSENTIAL["ipv6"])  # MLD: RFC 4890 says must not drop
    assert 3 in catalog.ICMP_ESSENTIAL["ipv4"]       # fragmentation needed lives in type 3
    assert 2 in catalog.ICMP_ESSENTIAL["ipv6"]       # packet too big
    assert {135, 136} <= set(catalog.ICMP_ESSENTIAL["ipv6"])  # neighbour discovery
