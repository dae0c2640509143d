# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Calico's plug-in (detect/cnis/calico.py) on recorded devices and calico-node environments (the
modes, ports, IPv6 pools, the endpoint-to-host action), and what it derives for the plan."""
from __future__ import annotations

from pathlib import Path

import pytest

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect import cni, cni_derive
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect.cnis import calico as calico_cni, flannel as flannel_cni

FIXTURES = Path(__file__).resolve().parents[4] / "fixtures"


def links(name):
    return cni.parse_links((FIXTURES / "links" / name).read_text())


def text(name):
    return (FIXTURES / "cni" / name).read_text()


CALICO_ENV = (b"PATH=/usr/bin\0CALICO_NETWORKING_BACKEND=bird\0CALICO_IPV4POOL_IPIP=crosssubnet\0"
              b"CALICO_IPV4POOL_VXLAN=Never\0CALICO_IPV4POOL_CIDR=192.168.0.0/16\0"
              b"FELIX_TYPHAK8SSERVICENAME=calico-typha\0")


def test_calico_bgp_with_ipip_cross_subnet():
    env = cni.parse_environ(CALICO_ENV)
    assert calico_cni.is_calico_environment(env)
    facts = calico_cni.calico_facts(env, links("plain.json"))
    assert facts["backend"] == "bird" and facts["ipip"] == "CrossSubnet" and facts["vxlan"] == "Never"
    assert facts["typha_client"] is True and facts["pool_cidr"] == "192.168.0.0/16"
    assert facts["sources"]["ipip"] == "calico-node environment CALICO_IPV4POOL_IPIP"


@pytest.mark.parametrize("value, mode", [
    ("Always", "Always"), ("always", "Always"), ("ALWAYS", "Always"), ("CrossSubnet", "CrossSubnet"),
    ("crossSubnet", "CrossSubnet"), ("Never", "Never"), ("off", "Never"), ("Off", "Never"), ("", "Never"),
    (" false ", "Never"),
])
def test_calico_modes_are_case_insensitive(value, mode):
    assert calico_cni.calico_mode(value) == mode


def test_bad_calico_mode_names_the_variable():
    with pytest.raises(ValueError, match="CALICO_IPV4POOL_VXLAN: 'Sometimes' is not Always, CrossSubnet or Never"):
        calico_cni.calico_facts({"CALICO_IPV4POOL_VXLAN": "Sometimes"}, [])


def test_calico_vxlan_port_from_the_device_beats_the_environment():
    env = {"CALICO_NETWORKING_BACKEND": "vxlan", "CALICO_IPV4POOL_VXLAN": "Always", "FELIX_VXLANPORT": "4800"}
    facts = calico_cni.calico_facts(env, links("calico_vxlan_4790.json"))
    assert facts["backend"] == "vxlan" and facts["vxlan"] == "Always" and facts["vxlan_port"] == 4790
    assert calico_cni.calico_facts(env, links("plain.json"))["vxlan_port"] == 4800
    assert calico_cni.calico_facts({"CALICO_IPV4POOL_VXLAN": "Always"}, [])["vxlan_port"] == 4789


def test_calico_devices_alone_reveal_encapsulation():
    assert calico_cni.calico_facts({}, links("calico_ipip_tunl0.constructed.json"))["ipip"] == "Always"
    assert calico_cni.calico_facts({}, links("calico_vxlan_4790.json"))["vxlan"] == "Always"
    wireguard = calico_cni.calico_facts({}, links("calico_wireguard.constructed.json"))
    assert wireguard["wireguard"] is True and wireguard["wireguard_port"] == 51820
    assert calico_cni.calico_facts({}, links("plain.json"))["present"] is False


def test_calico_wireguard_ports_from_the_environment():
    env = {"FELIX_WIREGUARDENABLED": "true", "FELIX_WIREGUARDLISTENINGPORT": "51900",
           "FELIX_WIREGUARDENABLEDV6": "true"}
    facts = calico_cni.calico_facts(env, [])
    assert (facts["wireguard_port"], facts["wireguard_port_v6"]) == (51900, 51821)


def test_derive_calico_every_mode():
    env = {"CALICO_NETWORKING_BACKEND": "bird", "CALICO_IPV4POOL_IPIP": "Always", "CALICO_IPV4POOL_VXLAN": "CrossSubnet",
           "FELIX_VXLANPORT": "4790", "FELIX_WIREGUARDENABLED": "true", "CALICO_IPV4POOL_CIDR": "192.168.0.0/16"}
    calico = calico_cni.calico_facts(env, [], runs_typha=True)
    derived = cni_derive.derive({"kind": "calico"}, {"flannel": flannel_cni.flannel_facts({}, []), "calico": calico})
    assert derived["features"] == ["calico_bgp", "calico_health", "calico_ipip", "calico_typha", "calico_vxlan",
                                   "calico_wireguard"]
    assert derived["ports"] == {"calico_vxlan": 4790, "calico_wireguard": 51820}
    assert derived["pod_cidrs"] == ["192.168.0.0/16"]
    vxlan_only = calico_cni.calico_facts({"CALICO_NETWORKING_BACKEND": "vxlan", "CALICO_IPV4POOL_VXLAN": "Always"}, [])
    facts = {"flannel": flannel_cni.flannel_facts({}, []), "calico": vxlan_only}
    assert cni_derive.derive({"kind": "calico"}, facts)["features"] == ["calico_health", "calico_vxlan"]


def test_calico_ipv6_pools():
    env = {"CALICO_IPV4POOL_IPIP": "Always", "CALICO_IPV6POOL_VXLAN": "Always",
           "CALICO_IPV4POOL_CIDR": "192.168.0.0/16", "CALICO_IPV6POOL_CIDR": "fd00:192::/48"}
    calico = calico_cni.calico_facts(env, [])
    assert calico["vxlan"] == "Never" and calico["vxlan_v6"] == "Always" and calico["vxlan_port"] == 4789
    derived = cni_derive.derive({"kind": "calico"}, {"flannel": flannel_cni.flannel_facts({}, []), "calico": calico})
    assert derived["features"] == ["calico_bgp", "calico_health", "calico_ipip", "calico_vxlan"]
    assert derived["pod_cidrs"] == ["192.168.0.0/16", "fd00:192::/48"]
    # the IPv6 VXLAN device alone shows the mode and its port
    device = [{"name": "vxlan-v6.calico", "kind": "vxlan", "port": 4791, "vni": 4096, "addresses": []}]
    from_device = calico_cni.calico_facts({}, device)
    assert from_device["present"] and from_device["vxlan_v6"] == "Always" and from_device["vxlan_port"] == 4791
    assert from_device["sources"]["vxlan_port"] == "device vxlan-v6.calico (vxlan dstport)"


def calico_manifest_env():
    return cni.parse_env_file((FIXTURES / "calico" / "calico-node.env").read_text())


def test_calicos_manifest_accepts_pod_to_host_and_the_plan_says_so():
    from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.plan import compile_plan
    calico = calico_cni.calico_facts(calico_manifest_env(), [])
    assert calico["endpoint_to_host_action"] == "ACCEPT"
    derived = cni_derive.derive({"kind": "calico"}, {"flannel": flannel_cni.flannel_facts({}, []), "calico": calico})
    assert {"calico_endpoint_to_host_accept", "calico_bgp", "calico_ipip"} <= set(derived["features"])
    inventory = {"hosts": {"w1": {"addresses": ["192.0.2.21"]}}, "groups": {"kube_node": ["w1"]}}
    plan = compile_plan({"name": "w1", "features": derived["features"], "pod_cidrs": ["10.244.0.0/16"]}, inventory,
                        {"mode": "host"})
    notes = [note["text"] for note in plan["notes"]]
    assert any("cali-wl-to-host" in text and "Calico's to police" in text for text in notes), notes


def test_calicos_default_endpoint_to_host_action_is_drop_and_return_says_nothing():
    env = calico_manifest_env()
    del env["FELIX_DEFAULTENDPOINTTOHOSTACTION"]
    calico = calico_cni.calico_facts(env, [])
    assert calico["endpoint_to_host_action"] == "DROP"
    derived = cni_derive.derive({"kind": "calico"}, {"flannel": flannel_cni.flannel_facts({}, []), "calico": calico})
    assert "calico_endpoint_to_host_accept" not in derived["features"]
    env["FELIX_DEFAULTENDPOINTTOHOSTACTION"] = "Return"
    assert calico_cni.calico_facts(env, [])["endpoint_to_host_action"] == "RETURN"
