# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""kube-proxy IPVS: the addresses on kube-ipvs0 (LoadBalancer, externalIP, ClusterIP) are admitted
from any source, as the DNAT rule admits them in iptables mode (issue 35, item 8); the packet test
is tests/integration/test_ipvs_addresses_packets.py."""
from __future__ import annotations

from pathlib import Path

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect import cni
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.plan import compile_plan

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures"
INVENTORY = {"hosts": {"w1": {"addresses": ["192.0.2.21"]}, "cp1": {"addresses": ["192.0.2.11"]}},
             "groups": {"kube_node": ["w1"], "kube_control_plane": ["cp1"]}}


def test_the_addresses_on_kube_ipvs0_are_admitted_from_any_source():
    links = cni.parse_links((FIXTURES / "links" / "ipvs_nodelocaldns_bridges.json").read_text())
    cluster_ips = cni.service_facts(links, "ipvs")["cluster_ips"]
    assert cluster_ips
    plan = compile_plan({"name": "w1", "features": ["kube_proxy_ipvs"], "cluster_ips": cluster_ips + ["198.51.100.200"],
                         "service_cidrs": ["10.233.0.0/18"], "pod_cidrs": ["10.233.64.0/18"]}, INVENTORY,
                        {"mode": "host"})
    rules = [rule for rule in plan["rules"] if any(why["id"] == "k8s_service_ipvs_local" for why in rule["why"])]
    assert rules and all(rule["from"] == [] for rule in rules), rules         # [] = any source
    assert [rule["to"] for rule in rules] == [["ipvs_addresses"]]
    assert "198.51.100.200/32" in plan["sets"]["ipvs_addresses"]["ipv4"]
    assert not [warning for warning in plan["warnings"] if "kube-ipvs0" in warning]


def test_an_offline_plan_says_the_kube_ipvs0_addresses_are_unknown():
    plan = compile_plan({"name": "w1", "features": ["kube_proxy_ipvs"], "service_cidrs": ["10.233.0.0/18"],
                         "pod_cidrs": ["10.233.64.0/18"]}, INVENTORY, {"mode": "host"})
    assert any("addresses on kube-ipvs0" in warning and "unknown" in warning for warning in plan["warnings"])
