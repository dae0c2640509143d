# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cilium from cilium-agent's flags, its config map directory and its devices."""
from __future__ import annotations

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect.cnis import calico as calico_cni, cilium, flannel as flannel_cni
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect import cni_derive


def links(*names):
    return [{"name": name, "kind": None, "port": None, "vni": None, "addresses": []} for name in ("lo", "eth0") + names]


# As a Helm-installed agent has them: the config map mounted at /tmp/cilium/config-map, one file
# per option (non-default tunnel port, Hubble on another port, metrics, KPR and the host firewall).
CONFIG_MAP = {"routing-mode": "tunnel", "tunnel-protocol": "geneve", "tunnel-port": "6091",
              "enable-hubble": "true", "hubble-listen-address": ":4254", "prometheus-serve-addr": ":9972",
              "kube-proxy-replacement": "true", "enable-host-firewall": "true", "enable-ipsec": "false"}


def test_geneve_hubble_metrics_from_the_config_map_with_their_real_ports():
    found = cilium.cilium_facts(cilium.options({}, CONFIG_MAP), links("cilium_host", "cilium_net", "cilium_geneve"))
    assert found["tunnel"] == "geneve"
    assert found["features"] == ["cilium_geneve", "cilium_health", "cilium_host_firewall", "cilium_hubble",
                                 "cilium_kube_proxy_replacement", "cilium_metrics"]
    assert found["ports"] == {"cilium_geneve": 6091, "cilium_hubble": 4254, "cilium_metrics": 9972}
    assert found["port_origins"]["cilium_geneve"] == "cilium config map tunnel-port"


def test_flags_win_over_the_config_map_and_the_device_over_both():
    settings = cilium.options({"--tunnel-protocol": "vxlan", "--enable-wireguard": ""}, CONFIG_MAP)
    assert settings["tunnel-protocol"] == ("vxlan", "cilium-agent --tunnel-protocol")
    assert settings["enable-wireguard"] == ("true", "cilium-agent --enable-wireguard")
    found = cilium.cilium_facts(settings, links("cilium_geneve"))
    assert found["tunnel"] == "geneve"                 # the data plane in use, whatever the options say
    assert "cilium_wireguard" in found["features"]
    no_device = cilium.cilium_facts(settings, links())
    assert no_device["tunnel"] == "vxlan" and no_device["ports"]["cilium_vxlan"] == 6091


def test_native_routing_admits_no_tunnel_and_says_so():
    found = cilium.cilium_facts(cilium.options({"--routing-mode": "native"}, {}), links("cilium_wg0"))
    assert found["tunnel"] is None
    assert found["features"] == ["cilium_health", "cilium_wireguard"]
    assert any("native routing" in note for note in found["notes"])


def test_a_cilium_node_seen_only_by_its_devices_and_the_unknown_default_is_said():
    found = cilium.cilium_facts({}, links("cilium_vxlan"))
    assert found["present"] and found["features"] == ["cilium_health", "cilium_vxlan"]
    assert found["ports"] == {"cilium_vxlan": 8472}
    guessed = cilium.cilium_facts(cilium.options({"--enable-bgp-control-plane": "true"}, {}), links())
    assert guessed["tunnel"] == "vxlan" and "cilium_bgp" in guessed["features"]
    assert any("default, vxlan" in note for note in guessed["notes"])
    assert cilium.cilium_facts({}, links())["present"] is False


def test_derive_uses_what_the_agent_shows():
    flannel, calico = flannel_cni.flannel_facts({}, []), calico_cni.calico_facts({}, [])
    found = cilium.cilium_facts(cilium.options({}, CONFIG_MAP), links("cilium_geneve"))
    derived = cni_derive.derive({"kind": "cilium"}, {"flannel": flannel, "calico": calico, "cilium": found})
    assert "cilium_geneve" in derived["features"] and "cilium_vxlan" not in derived["features"]
    assert derived["ports"]["cilium_geneve"] == 6091


def test_the_tunnel_devices_port_wins_and_the_health_port_is_read():
    devices = links() + [{"name": "cilium_geneve", "kind": "geneve", "port": 6191, "vni": None, "addresses": []}]
    found = cilium.cilium_facts(cilium.options({"--cluster-health-port": "4340"}, CONFIG_MAP), devices)
    assert found["ports"]["cilium_geneve"] == 6191
    assert found["port_origins"]["cilium_geneve"] == "device cilium_geneve (geneve dstport)"
    assert found["ports"]["cilium_health"] == 4340
    assert found["port_origins"]["cilium_health"] == "cilium-agent --cluster-health-port"


def test_the_pod_network_from_ciliums_cluster_pool():
    config_map = dict(CONFIG_MAP, **{"cluster-pool-ipv4-cidr": "10.72.0.0/16 10.73.0.0/16",
                                     "cluster-pool-ipv6-cidr": "fd00:72::/104"})
    found = cilium.cilium_facts(cilium.options({}, config_map), links("cilium_geneve"))
    assert found["pod_cidrs"] == ["10.72.0.0/16", "10.73.0.0/16", "fd00:72::/104"]
    assert found["pod_cidr_origin"] == "cilium config map cluster-pool-ipv4-cidr"
    derived = cni_derive.derive({"kind": "cilium"}, {"flannel": flannel_cni.flannel_facts({}, []), "calico": calico_cni.calico_facts({}, []), "cilium": found})
    assert derived["pod_cidrs"] == found["pod_cidrs"]
    assert derived["pod_cidr_origin"] == "cilium config map cluster-pool-ipv4-cidr"
    # ipam=kubernetes: the node's podCIDR, not the pool
    kubernetes_ipam = cilium.cilium_facts(cilium.options({"--ipam": "kubernetes"}, config_map), links())
    assert kubernetes_ipam["pod_cidrs"] == []
