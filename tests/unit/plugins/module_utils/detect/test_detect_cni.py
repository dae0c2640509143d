# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the CNIs share, on recorded device lists and CNI configs: the config the runtime uses and its
kind, the Services' devices, and the kinds' derivations (canal, Cilium or Weave by their config alone)."""
from __future__ import annotations

from pathlib import Path

import pytest

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect import cni, cni_derive, cnis
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect.cnis import calico as calico_cni, flannel as flannel_cni

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures"


def links(name):
    return cni.parse_links((FIXTURES / "links" / name).read_text())


def text(name):
    return (FIXTURES / "cni" / name).read_text()


def test_first_config_file_wins_lexicographically():
    names = ["10-flannel.conflist", "99-loopback.conf", "05-cilium.conf", "README", "00-old.conf.bak"]
    assert cni.choose_cni_config(names) == "05-cilium.conf"
    assert cni.choose_cni_config(["notes.txt"]) is None


@pytest.mark.parametrize("name, plugins, kind", [
    ("10-flannel.conflist", ["flannel", "portmap"], "flannel"),
    ("10-calico.conflist", ["calico", "portmap", "bandwidth"], "calico"),
    ("05-cilium.conf", ["cilium-cni"], "cilium"),
])
def test_cni_configs(name, plugins, kind):
    config = cni.parse_cni_config(text(name))
    assert config["plugins"] == plugins
    assert cnis.kind_of(name, config["plugins"][0], {"flannel": {"present": False}}) == kind


@pytest.mark.parametrize("content", [text("00-broken.conflist"), "[1, 2]", '{"plugins": {}}', '{"name": "x"}'])
def test_malformed_cni_config_raises(content):
    with pytest.raises(ValueError):
        cni.parse_cni_config(content)


def test_derive_canal_cilium_weave():
    flannel = flannel_cni.flannel_facts(cni.parse_env_file(text("subnet.env")), links("flannel_vxlan_8572.json"))
    canal = cni_derive.derive({"kind": "canal"}, {"flannel": flannel, "calico": calico_cni.calico_facts({"CALICO_NETWORKING_BACKEND": "none"}, [])})
    assert canal["features"] == ["canal"] and canal["ports"] == {"flannel_vxlan": 8572}
    cilium = cni_derive.derive({"kind": "cilium"}, {"flannel": flannel_cni.flannel_facts({}, []), "calico": calico_cni.calico_facts({}, [])})
    assert cilium["features"] == ["cilium_health", "cilium_vxlan"] and cilium["notes"]
    facts = {"flannel": flannel_cni.flannel_facts({}, []), "calico": calico_cni.calico_facts({}, [])}
    assert cni_derive.derive({"kind": "weave"}, facts)["features"] == ["weave"]


def test_ipvs_and_nodelocal_dns_from_the_devices_and_their_addresses():
    links = cni.parse_links((FIXTURES / "links" / "ipvs_nodelocaldns_bridges.json").read_text())
    found = cni.service_facts(links, "ipvs")
    assert found["features"] == ["nodelocal_dns", "kube_proxy_ipvs"]
    # the devices are up: their IPv6 link-local addresses are no Service's (seen in the lab)
    assert found["nodelocal_dns"] == ["169.254.25.10", "10.233.0.3"]
    assert found["cluster_ips"] == ["10.233.0.1", "10.233.0.3", "fd00:233::10"]
    # iptables mode: the ClusterIPs are not local addresses, nothing to admit to them
    assert "kube_proxy_ipvs" not in cni.service_facts(links, "iptables")["features"]
    plain = cni.service_facts(cni.parse_links((FIXTURES / "links" / "plain.json").read_text()), "iptables")
    assert plain == {"features": [], "nodelocal_dns": [], "cluster_ips": [], "notes": []}


def test_canal_admits_felix_health_and_wireguard_when_flannel_uses_it():
    flannel = flannel_cni.flannel_facts(cni.parse_env_file(text("subnet.env")), links("flannel_vxlan_8572.json"))
    env = {"CALICO_NETWORKING_BACKEND": "none", "FELIX_HEALTHPORT": "9199"}
    canal = cni_derive.derive({"kind": "canal"}, {"flannel": flannel, "calico": calico_cni.calico_facts(env, [], env_source="process 4 (calico-node)")})
    assert canal["features"] == ["canal"]
    assert canal["ports"] == {"flannel_vxlan": 8572, "calico_health": 9199}
    assert canal["port_origins"]["calico_health"] == "process 4 (calico-node) FELIX_HEALTHPORT"
    conf = '{"Network": "10.42.0.0/16", "Backend": {"Type": "wireguard", "ListenPort": 51830}}'
    wireguard = flannel_cni.flannel_facts({}, [], flannel_cni.parse_net_conf(conf))
    derived = cni_derive.derive({"kind": "canal"}, {"flannel": wireguard, "calico": calico_cni.calico_facts({}, [])})
    assert derived["features"] == ["canal", "canal_wireguard"] and derived["ports"]["flannel_wireguard"] == 51830
