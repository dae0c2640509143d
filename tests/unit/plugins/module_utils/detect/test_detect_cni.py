# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""CNI detection on recorded device lists, CNI configs, flannel files and calico environments."""
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


# ------------------------------------------------------------------ CNI config

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


# ------------------------------------------------------------------ flannel

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


# ------------------------------------------------------------------ calico

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


# ------------------------------------------------------------------ what the planner gets

def test_derive_flannel_vxlan_custom_port():
    flannel = flannel_cni.flannel_facts(cni.parse_env_file(text("subnet.env")), links("flannel_vxlan_8572.json"))
    calico = calico_cni.calico_facts({}, [])
    derived = cni_derive.derive({"kind": "flannel"}, {"flannel": flannel, "calico": calico})
    assert derived["features"] == ["flannel_vxlan"]
    assert derived["ports"] == {"flannel_vxlan": 8572}
    assert derived["port_origins"] == {"flannel_vxlan": "device flannel.1 (vxlan dstport)"}
    assert derived["pod_cidrs"] == ["10.244.0.0/16"]


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
    assert cni_derive.derive({"kind": "calico"}, {"flannel": flannel_cni.flannel_facts({}, []), "calico": vxlan_only})["features"] == ["calico_health", "calico_vxlan"]


def test_derive_canal_cilium_weave():
    flannel = flannel_cni.flannel_facts(cni.parse_env_file(text("subnet.env")), links("flannel_vxlan_8572.json"))
    canal = cni_derive.derive({"kind": "canal"}, {"flannel": flannel, "calico": calico_cni.calico_facts({"CALICO_NETWORKING_BACKEND": "none"}, [])})
    assert canal["features"] == ["canal"] and canal["ports"] == {"flannel_vxlan": 8572}
    cilium = cni_derive.derive({"kind": "cilium"}, {"flannel": flannel_cni.flannel_facts({}, []), "calico": calico_cni.calico_facts({}, [])})
    assert cilium["features"] == ["cilium_health", "cilium_vxlan"] and cilium["notes"]
    assert cni_derive.derive({"kind": "weave"}, {"flannel": flannel_cni.flannel_facts({}, []), "calico": calico_cni.calico_facts({}, [])})["features"] == ["weave"]


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


# ------------------------------------------------------------------ flannel's extension backend (issue 35, item 3)

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


# ------------------------------------------------------------------ Calico's endpoint-to-host action (issue 35, item 9)

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
