# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Antrea from antrea-agent.conf, antrea-controller's config and the Open vSwitch tunnel devices."""
from __future__ import annotations

from pathlib import Path

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect.cnis import antrea, calico as calico_cni, flannel as flannel_cni
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect import cni_derive, cnis
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect.yaml_text import dotted_scalars, parse

AGENT_CONF = dotted_scalars(parse(
    (Path(__file__).resolve().parents[4] / "fixtures" / "antrea" / "antrea-agent.conf").read_text()))
WHERE = "process 80 (antrea-agent) /etc/antrea/antrea-agent.conf"


def links(*names):
    return [{"name": name, "kind": None, "port": None, "vni": None, "addresses": []} for name in ("lo", "eth0") + names]


def test_the_agents_config_with_every_value_moved():
    found = antrea.antrea_facts(AGENT_CONF, None, links("antrea-gw0"), WHERE)
    assert found["tunnel"] == "vxlan"
    assert found["features"] == ["antrea", "antrea_bgp", "antrea_egress", "antrea_vxlan", "antrea_wireguard",
                                 "kube_proxy_healthz"]
    assert found["ports"] == {"antrea_tunnel": 4799, "antrea_agent_api": 10450, "antrea_cluster": 10451,
                              "antrea_wireguard": 51830, "kube_proxy_healthz": 10266}
    assert found["port_origins"]["antrea_tunnel"] == WHERE + " tunnelPort"
    assert found["port_origins"]["antrea_wireguard"] == WHERE + " wireGuard.port"


def test_the_tunnel_device_wins_and_defaults_need_no_port():
    found = antrea.antrea_facts(AGENT_CONF, None, links("antrea-gw0", "genev_sys_6091"), WHERE)
    assert found["tunnel"] == "geneve" and "antrea_geneve" in found["features"]
    assert found["ports"]["antrea_tunnel"] == 6091 and found["port_origins"]["antrea_tunnel"] == "device genev_sys_6091"
    # nothing configured: geneve on its row's default port, Egress on (beta, default true)
    plain = antrea.antrea_facts({}, None, links("antrea-gw0"))
    assert plain["features"] == ["antrea", "antrea_egress", "antrea_geneve"] and plain["ports"] == {}
    gre = antrea.antrea_facts({}, None, links("gre_sys"))
    assert gre["tunnel"] == "gre" and "antrea_gre" in gre["features"] and "antrea_tunnel" not in gre["ports"]


def test_no_encap_ipsec_egress_off_and_the_controller():
    config = {"trafficEncapMode": "noEncap", "trafficEncryptionMode": "ipsec", "featureGates.Egress": "false"}
    found = antrea.antrea_facts(config, {"apiPort": "10449"}, links("antrea-gw0"), WHERE, "process 81 (antrea-controller) c")
    assert found["tunnel"] is None and any("noencap" in note for note in found["notes"])
    assert found["features"] == ["antrea", "antrea_controller", "antrea_ipsec"]
    assert found["ports"] == {"antrea_controller_api": 10449}
    assert found["port_origins"]["antrea_controller_api"] == "process 81 (antrea-controller) c apiPort"
    odd = antrea.antrea_facts({"tunnelType": "foo"}, None, links())
    assert any("'foo'" in note for note in odd["notes"])
    assert antrea.antrea_facts(None, None, links())["present"] is False


def test_derive_with_antrea():
    flannel, calico = flannel_cni.flannel_facts({}, []), calico_cni.calico_facts({}, [])
    kind = cnis.kind_of("10-antrea.conflist", "antrea", {"flannel": {"present": False}})
    assert kind == "antrea"
    found = antrea.antrea_facts(AGENT_CONF, None, links("antrea-gw0"), WHERE)
    derived = cni_derive.derive({"kind": kind}, {"flannel": flannel, "calico": calico, "antrea": found})
    assert derived["ports"]["antrea_tunnel"] == 4799 and "antrea_vxlan" in derived["features"]
    unseen = cni_derive.derive({"kind": kind}, {"flannel": flannel, "calico": calico, "antrea": antrea.antrea_facts(None, None, links())})
    assert "antrea_geneve" in unseen["features"] and unseen["notes"]
