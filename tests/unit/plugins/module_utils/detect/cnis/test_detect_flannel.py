# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""flannel's plug-in (detect/cnis/flannel.py) on recorded devices, subnet.env and net-conf.json files
(k3s's extension backends: Tailscale, the old WireGuard), and what it derives for the plan."""
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


def test_flannel_vxlan_on_a_custom_port_from_the_device():
    facts = flannel_cni.flannel_facts(cni.parse_env_file(text("subnet.env")), links("flannel_vxlan_8572.json"))
    assert facts["backend"] == "vxlan" and facts["port"] == 8572
    assert facts["source"] == "device flannel.1 (vxlan dstport)"
    assert facts["network"] == "10.244.0.0/16" and facts["subnet"] == "10.244.1.1/24"


@pytest.mark.parametrize("fixture, backend, port", [
    ("flannel_udp_tun.json", "udp", 8285),
    ("flannel_wireguard.constructed.json", "wireguard", 51820),
    ("flannel_ipip.constructed.json", "ipip", None),
    ("plain.json", "host_gw", None),
])
def test_flannel_backends_from_devices(fixture, backend, port):
    facts = flannel_cni.flannel_facts({"FLANNEL_NETWORK": "10.244.0.0/16"}, links(fixture))
    assert (facts["backend"], facts["port"]) == (backend, port)


def test_flannel_net_conf_gives_the_port_when_the_device_does_not():
    net_conf = flannel_cni.parse_net_conf('{"Network": "10.42.0.0/16", "Backend": {"Type": "udp", "Port": 8300}}')
    facts = flannel_cni.flannel_facts({}, links("flannel_udp_tun.json"), net_conf)
    assert facts["port"] == 8300 and facts["network"] == "10.42.0.0/16"
    assert flannel_cni.parse_net_conf(text("net-conf.json"))["port"] == 8572
    wg = flannel_cni.parse_net_conf('{"Backend": {"Type": "wireguard", "ListenPort": 51900, "ListenPortV6": 51901}}')
    assert (wg["backend"], wg["port"], wg["port_v6"]) == ("wireguard", 51900, 51901)
    assert flannel_cni.parse_net_conf('{"Backend": {"Type": "host-gw"}}')["backend"] == "host_gw"


def test_no_flannel_at_all():
    assert flannel_cni.flannel_facts({}, links("plain.json"))["present"] is False


def test_derive_flannel_vxlan_custom_port():
    flannel = flannel_cni.flannel_facts(cni.parse_env_file(text("subnet.env")), links("flannel_vxlan_8572.json"))
    calico = calico_cni.calico_facts({}, [])
    derived = cni_derive.derive({"kind": "flannel"}, {"flannel": flannel, "calico": calico})
    assert derived["features"] == ["flannel_vxlan"]
    assert derived["ports"] == {"flannel_vxlan": 8572}
    assert derived["port_origins"] == {"flannel_vxlan": "device flannel.1 (vxlan dstport)"}
    assert derived["pod_cidrs"] == ["10.244.0.0/16"]


def test_flannel_ipsec_from_net_conf_or_a_k3s_backend_flag():
    net_conf = flannel_cni.parse_net_conf('{"Network": "10.244.0.0/16", "Backend": {"Type": "ipsec", "PSK": "x"}}')
    found = flannel_cni.flannel_facts({"FLANNEL_NETWORK": "10.244.0.0/16"}, [], net_conf)
    assert found["backend"] == "ipsec" and found["source"] == "net-conf.json Backend.Type"
    derived = cni_derive.derive({"kind": "flannel"}, {"flannel": found, "calico": calico_cni.calico_facts({}, [])})
    assert derived["features"] == ["flannel_ipsec"] and derived["ports"] == {}
    # k3s: no net-conf.json where flannel's DaemonSet puts it, the backend from the k3s flag
    hinted = flannel_cni.flannel_facts({"FLANNEL_NETWORK": "10.42.0.0/16"}, [], None,
                                       ("ipsec", "process 5 (k3s) --flannel-backend"))
    assert hinted["backend"] == "ipsec" and hinted["source"] == "process 5 (k3s) --flannel-backend"
    # a device wins over the flag
    device = flannel_cni.flannel_facts({}, links("flannel_vxlan_8572.json"), None, ("host_gw", "k3s"))
    assert device["backend"] == "vxlan" and device["port"] == 8572


def k3s_net_conf(name):
    return flannel_cni.parse_net_conf((FIXTURES / "k3s" / name).read_text())


def test_k3s_vpn_auth_tailscale_plans_tailscaleds_port():
    from ansible_collections.microseg.cluster_firewall.plugins.module_utils import catalog
    net_conf = k3s_net_conf("net-conf.tailscale.json")
    assert net_conf["backend"] == "tailscale"
    flannel = flannel_cni.flannel_facts({}, links("plain.json"), net_conf)
    derived = cni_derive.derive({"kind": None}, {"flannel": flannel, "calico": calico_cni.calico_facts({}, [])})
    assert "flannel_tailscale" in derived["features"] and derived["ports"]["tailscale"] == 41641
    assert set(derived["features"]) <= set(catalog.FEATURES)
    assert any("Tailscale" in note for note in derived["notes"])


def test_k3s_old_wireguard_backend_is_flannel_wireguard_on_its_listen_port():
    net_conf = k3s_net_conf("net-conf.wireguard-old.json")
    assert (net_conf["backend"], net_conf["port"]) == ("wireguard", 51820)
    flannel = flannel_cni.flannel_facts({}, [{"name": "flannel.1", "kind": "wireguard", "port": None, "vni": None,
                                              "addresses": []}], net_conf)
    derived = cni_derive.derive({"kind": "flannel"}, {"flannel": flannel, "calico": calico_cni.calico_facts({}, [])})
    assert "flannel_wireguard" in derived["features"] and derived["ports"]["flannel_wireguard"] == 51820


def test_an_unknown_extension_backend_is_reported_not_planned_and_fails_nothing():
    from ansible_collections.microseg.cluster_firewall.plugins.module_utils import catalog
    net_conf = flannel_cni.parse_net_conf('{"Network": "10.42.0.0/16", "Backend": {"Type": "extension", '
                                          '"PostStartupCommand": "my-overlay up"}}')
    flannel = flannel_cni.flannel_facts({}, [], net_conf)
    derived = cni_derive.derive({"kind": "flannel"}, {"flannel": flannel, "calico": calico_cni.calico_facts({}, [])})
    assert set(derived["features"]) <= set(catalog.FEATURES)
    assert any("extension backend" in note and "not planned" in note for note in derived["notes"])
