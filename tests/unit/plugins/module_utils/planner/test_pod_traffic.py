# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pods and Services reaching the node: the kubelet from pods on any node, NodeLocal DNSCache,
Services in kube-proxy IPVS mode, NodePorts on control planes, the pod network trusted on demand;
where each network comes from (the node, another node, an installer's variables) and what the
plan says when it is unknown."""
from __future__ import annotations

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.iptables import render as iptables
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.nftables import render as nftables
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.inventory import (
    build_inventory,
    installer_settings,
)
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.plan import compile_plan
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.verify import evaluate

GROUPS = {"kube_control_plane": ["cp1"], "kube_node": ["w1", "w2"], "outside": ["ext"]}
ADDRESSES = {"cp1": "10.3.0.1", "w1": "10.3.0.4", "w2": "10.3.0.5", "ext": "198.51.100.9"}


def inventory(cluster_networks=None):
    hosts = dict((name, {"addresses": [address]}) for name, address in ADDRESSES.items())
    for name, networks in (cluster_networks or {}).items():
        hosts[name]["cluster_networks"] = networks
    return {"hosts": hosts, "groups": dict(GROUPS, all=sorted(ADDRESSES))}


def plan(name="w1", policy=None, inv=None, **node):
    return compile_plan(dict({"name": name}, **node), inv or inventory(), dict({"mode": "host"}, **(policy or {})))


def by_id(result, row_id):
    return [rule for rule in result["rules"] if any(why["id"] == row_id for why in rule["why"])]


IPVS_NODE = {"features": ["kube_proxy_ipvs", "nodelocal_dns"], "pod_cidrs": ["10.233.64.0/18"],
             "service_cidrs": ["10.233.0.0/18"], "nodelocal_dns": ["169.254.25.10"]}


def test_the_kubelet_admits_pods_and_every_node_not_outsiders():
    result = plan(**IPVS_NODE)
    assert sorted(by_id(result, "kubelet_api")[0]["from"]) == ["cluster_nodes", "pod_network", "self"]
    assert evaluate(result, "10.3.0.5", "tcp", 10250) == "accept"        # metrics-server's node
    assert evaluate(result, "10.233.70.4", "tcp", 10250) == "accept"     # a pod, not masqueraded
    assert evaluate(result, "198.51.100.9", "tcp", 10250) == "drop"      # the negative control


def test_services_in_ipvs_mode_are_admitted_to_the_service_network_only():
    result = plan(**IPVS_NODE)
    rule = by_id(result, "k8s_service_ipvs")[0]
    assert (rule["proto"], rule["ports"], rule["to"]) == ("all", [], ["service_network"])
    assert result["sets"]["service_network"]["ipv4"] == ["10.233.0.0/18"]
    assert evaluate(result, "10.233.70.4", "tcp", 8080, destination="10.233.0.10") == "accept"
    # the same pod to the node's own address on that port: not a Service
    assert evaluate(result, "10.233.70.4", "tcp", 8080) == "drop"
    assert evaluate(result, "198.51.100.9", "tcp", 8080, destination="10.233.0.10") == "drop"


def test_nodelocal_dns_admits_pods_to_its_address_on_53():
    result = plan(**IPVS_NODE)
    dns = by_id(result, "nodelocal_dns_udp") + by_id(result, "nodelocal_dns_tcp")
    assert {(rule["proto"], tuple(rule["ports"]), tuple(rule["to"])) for rule in dns} == {
        ("udp", ("53",), ("nodelocal_dns",)), ("tcp", ("53",), ("nodelocal_dns",))}
    assert evaluate(result, "10.233.70.4", "udp", 53, destination="169.254.25.10") == "accept"
    assert evaluate(result, "10.233.70.4", "udp", 53) == "drop"
    assert evaluate(result, "10.3.0.5", "udp", 53, destination="169.254.25.10") == "drop"


def test_destinations_are_rendered_as_destination_set_matches():
    result = plan(**IPVS_NODE)
    rules = iptables.render_rules(result, "ipv4")
    assert ('-p udp -m udp --dport 53 -m set --match-set mseg-pod_network-v4 src '
            '-m set --match-set mseg-nodelocal_dns-v4 dst -m comment --comment "microseg: nodelocal_dns_udp" '
            '-j ACCEPT') in rules
    assert iptables.render_sets(result, "ipv4")["mseg-service_network-v4"] == ["10.233.0.0/18"]
    nft = nftables.render_rules(result)
    assert ('ip saddr @pod_network_v4 ip daddr @service_network_v4 counter accept comment "microseg: k8s_service_ipvs"'
            in nft)
    assert 'udp dport 53 ip saddr @pod_network_v4 ip daddr @nodelocal_dns_v4 counter accept comment ' \
           '"microseg: nodelocal_dns_udp"' in nft


def test_unknown_destinations_admit_nothing_and_say_how_to_give_them():
    result = plan(features=["kube_proxy_ipvs", "nodelocal_dns"], pod_cidrs=["10.233.64.0/18"])
    assert by_id(result, "k8s_service_ipvs")[0]["families"] == []
    assert by_id(result, "nodelocal_dns_udp")[0]["families"] == []
    warnings = " ".join(result["warnings"])
    assert "the Service network unknown" in warnings and "microseg_service_cidrs" in warnings
    assert "microseg_nodelocal_dns_addresses" in warnings


def test_the_clusterips_on_kube_ipvs0_stand_in_for_an_unknown_service_cidr_and_the_plan_says_so():
    result = plan(features=["kube_proxy_ipvs"], pod_cidrs=["10.233.64.0/18"], cluster_ips=["10.233.0.1", "10.233.0.3"])
    assert result["sets"]["service_network"]["ipv4"] == ["10.233.0.1/32", "10.233.0.3/32"]
    assert any("not Services made later" in warning for warning in result["warnings"])
    # a Service CIDR another node shows wins over them
    shown = inventory({"cp1": {"service_cidrs": {"networks": ["10.233.0.0/18"],
                                                 "origin": "kube-apiserver.yaml --service-cluster-ip-range"}}})
    result = plan(inv=shown, features=["kube_proxy_ipvs"], pod_cidrs=["10.233.64.0/18"], cluster_ips=["10.233.0.1"])
    assert result["sets"]["service_network"]["ipv4"] == ["10.233.0.0/18"]
    assert result["networks"]["service_cidrs"]["origin"] == "kube-apiserver.yaml --service-cluster-ip-range on cp1"


def test_a_node_takes_the_pod_network_another_node_shows_before_an_installers_variables():
    networks = {"cp1": {"pod_cidrs": {"networks": ["10.244.0.0/16"], "origin": "kube-controller-manager.yaml "
                                      "--cluster-cidr"}},
                "w2": {"pod_cidrs": {"networks": ["10.9.0.0/16"], "origin": "kubespray's kube_pods_subnet",
                                     "installer": True}}}
    result = plan(inv=inventory(networks), features=[])
    assert result["sets"]["pod_network"]["ipv4"] == ["10.244.0.0/16"]
    assert result["networks"]["pod_cidrs"]["origin"].endswith("on cp1")
    del networks["cp1"]
    result = plan(inv=inventory(networks), features=[])
    assert result["sets"]["pod_network"]["ipv4"] == ["10.9.0.0/16"]
    # the node's own (detected or microseg_pod_cidrs) wins over both
    own = plan(inv=inventory(networks), pod_cidrs=["10.77.0.0/16"], network_origins={"pod_cidrs": "microseg_pod_cidrs"})
    assert own["sets"]["pod_network"]["ipv4"] == ["10.77.0.0/16"]
    assert own["networks"]["pod_cidrs"]["origin"] == "microseg_pod_cidrs"


def test_an_unknown_pod_network_is_said_in_the_plan():
    result = plan(features=[])
    assert any(warning.startswith("pod network unknown") and "microseg_pod_cidrs" in warning
               for warning in result["warnings"])
    assert result["networks"]["pod_cidrs"] == {"cidrs": [], "origin": "unknown"}


def test_control_planes_serve_nodeports_and_follow_microseg_nodeport():
    result = plan("cp1", pod_cidrs=["10.233.64.0/18"])
    assert by_id(result, "k8s_nodeport_tcp") and by_id(result, "k8s_nodeport_udp")
    closed = plan("cp1", policy={"nodeport": False}, pod_cidrs=["10.233.64.0/18"])
    assert not by_id(closed, "k8s_nodeport_tcp")
    assert by_id(closed, "nodeport_closed")       # DNAT'ed NodePort connections are not admitted either


def test_the_pod_network_follows_the_scope():
    port = plan(policy={"scope": "port"}, **IPVS_NODE)
    assert by_id(port, "kubelet_api")[0]["from"] == []                  # any source
    assert by_id(port, "nodelocal_dns_udp")[0]["from"] == []
    assert by_id(port, "nodelocal_dns_udp")[0]["to"] == ["nodelocal_dns"]  # still to its address only
    cidr = plan(policy={"scope": "cidr", "trusted_cidrs": ["10.3.0.0/24"]}, **IPVS_NODE)
    assert sorted(by_id(cidr, "kubelet_api")[0]["from"]) == ["pod_network", "self", "trusted"]


def test_trusting_the_pod_network_admits_it_on_every_port_and_guards_nothing():
    assert not by_id(plan(**IPVS_NODE), "trust_pod_network")
    host = plan(policy={"trust_pod_network": True}, **IPVS_NODE)
    rule = by_id(host, "trust_pod_network")[0]
    assert (rule["proto"], rule["ports"], rule["from"], rule["to"]) == ("all", [], ["pod_network"], [])
    assert evaluate(host, "10.233.70.4", "tcp", 9999) == "accept"
    assert evaluate(host, "198.51.100.9", "tcp", 9999) == "drop"
    # whatever the scope: the user trusts the pod CIDRs, not any source
    assert by_id(plan(policy={"trust_pod_network": True, "scope": "port"}, **IPVS_NODE),
                 "trust_pod_network")[0]["from"] == ["pod_network"]
    service = plan(policy={"trust_pod_network": True, "mode": "service"}, **IPVS_NODE)
    guards = [rule for rule in service["rules"] if rule["phase"] == "guard"]
    assert guards and not [rule for rule in guards if rule["proto"] == "all" and not rule["ports"]]
    assert evaluate(service, "198.51.100.9", "tcp", 9999) == "return"    # service mode: unguarded ports pass


def test_service_mode_guards_nodelocal_dns_at_its_address_only():
    service = plan(policy={"mode": "service"}, **IPVS_NODE)
    dns = [rule for rule in service["rules"] if rule["phase"] == "guard" and rule["to"] == ["nodelocal_dns"]]
    assert sorted(rule["proto"] for rule in dns) == ["tcp", "udp"]
    assert evaluate(service, "198.51.100.9", "udp", 53, destination="169.254.25.10") == "drop"
    assert evaluate(service, "198.51.100.9", "udp", 53) == "return"     # the node's own resolver port: unguarded


def test_trust_pod_network_must_be_a_boolean():
    try:
        plan(policy={"trust_pod_network": "yes"})
    except Exception as error:       # PlanError
        assert "microseg_trust_pod_network" in str(error) and "true or false" in str(error)
    else:
        raise AssertionError("accepted a string")


def test_installer_settings_read_kubespray_variables():
    found = installer_settings({"kube_proxy_mode": "ipvs", "enable_nodelocaldns": True,
                                "nodelocaldns_ip": "169.254.20.10", "kube_pods_subnet": "10.200.0.0/17",
                                "kube_service_addresses": "10.96.64.0/18",
                                "kube_pods_subnet_ipv6": "fd85:ee78:d8a6:8607::1:0000/112"})
    assert found["features"] == ["kube_proxy_ipvs", "nodelocal_dns"]
    assert found["nodelocal_dns"] == ["169.254.20.10"]
    # the IPv6 networks count only in a dual-stack cluster
    assert found["networks"] == {"pod_cidrs": ["10.200.0.0/17"], "service_cidrs": ["10.96.64.0/18"]}
    dual = installer_settings({"kube_pods_subnet": "10.200.0.0/17", "enable_dual_stack_networks": True,
                               "kube_pods_subnet_ipv6": "fd85:ee78:d8a6:8607::1:0/112"})
    assert dual["networks"]["pod_cidrs"] == ["10.200.0.0/17", "fd85:ee78:d8a6:8607::1:0/112"]
    assert installer_settings({"kube_proxy_mode": "iptables", "enable_nodelocaldns": False})["features"] == []


def test_the_inventory_carries_each_hosts_networks_for_the_others():
    hostvars = {
        "cp1": {"ansible_host": "10.3.0.1", "microseg_profile": {
            "roles": ["kube_control_plane"], "service_cidrs": ["10.233.0.0/18"],
            "network_origins": {"service_cidrs": "kube-apiserver.yaml --service-cluster-ip-range"}}},
        "w1": {"ansible_host": "10.3.0.4", "kube_pods_subnet": "10.233.64.0/18"},
    }
    built = build_inventory(hostvars, {"all": ["cp1", "w1"], "kube_node": ["w1"]})
    assert built["hosts"]["cp1"]["cluster_networks"] == {"service_cidrs": {
        "networks": ["10.233.0.0/18"], "origin": "kube-apiserver.yaml --service-cluster-ip-range", "installer": False}}
    assert built["hosts"]["w1"]["cluster_networks"]["pod_cidrs"]["installer"] is True
