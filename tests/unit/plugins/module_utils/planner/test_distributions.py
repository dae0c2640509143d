# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a distribution's nodes run beyond their roles: settings one node shows for the whole
cluster (a k3s server's embedded registry), and what a role brings that the node does not run
(a k0s controller without a kubelet)."""
from __future__ import annotations

import pytest

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.errors import PlanError
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.inventory import build_inventory
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.plan import compile_plan
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.profile import build_profile
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.verify import evaluate

GROUPS = {"k3s_cluster": ["s1", "a1", "a2"], "server": ["s1"], "agent": ["a1", "a2"], "docker_hosts": ["d1"]}
ADDRESSES = {"s1": "10.4.0.1", "a1": "10.4.0.2", "a2": "10.4.0.3", "d1": "10.4.0.9"}


def k3s_hostvars(server_features):
    hostvars = {}
    for name, address in ADDRESSES.items():
        groups = [group for group, members in GROUPS.items() if name in members]
        features = server_features if name == "s1" else []
        hostvars[name] = {"microseg_node_addresses": [address],
                          "microseg_profile": build_profile(name, groups, features=features)}
    return hostvars


def plan_of(name, hostvars, **node):
    inventory = build_inventory(hostvars, dict(GROUPS, all=sorted(ADDRESSES)))
    profile = hostvars[name]["microseg_profile"]
    return compile_plan(dict({"name": name, "features": profile["features"],
                              "absent_features": profile.get("absent_features", [])}, **node),
                        inventory, {"mode": "host", "state": "block"})


def test_a_k3s_servers_embedded_registry_opens_spegel_on_every_kubernetes_node():
    hostvars = k3s_hostvars(["k3s_embedded_registry"])
    agent = plan_of("a1", hostvars)
    assert "k3s_embedded_registry" in agent["features"]
    assert evaluate(agent, "10.4.0.3", "tcp", 5001) == "accept"          # another agent: peer-to-peer
    assert evaluate(agent, "10.4.0.1", "tcp", 6443) == "accept"          # the registry on every node
    assert evaluate(agent, "10.4.0.9", "tcp", 5001) == "drop"            # not a cluster node
    # a host of the inventory that is no Kubernetes node does not get it
    assert "k3s_embedded_registry" not in plan_of("d1", hostvars)["features"]
    # without the server's flag, nothing
    assert evaluate(plan_of("a1", k3s_hostvars([])), "10.4.0.3", "tcp", 5001) == "drop"


def test_the_p2p_port_a_node_shows_is_used():
    hostvars = k3s_hostvars(["k3s_embedded_registry"])
    agent = plan_of("a2", hostvars, ports={"k3s_spegel_p2p": 5101})
    assert evaluate(agent, "10.4.0.1", "tcp", 5101) == "accept"
    assert evaluate(agent, "10.4.0.1", "tcp", 5001) == "drop"


def test_a_cluster_wide_feature_must_be_one():
    inventory = {"hosts": {"s1": {"addresses": ["10.4.0.1"], "cluster_features": ["kubelet"]}},
                 "groups": {"all": ["s1"], "server": ["s1"]}}
    with pytest.raises(PlanError, match="kubelet.*k3s_embedded_registry"):
        compile_plan({"name": "s1"}, inventory, {"mode": "host"})


K0S_CONTROLLER = {"kubernetes": {"roles": ["kube_control_plane", "etcd"]},
                  "derived": {"roles": ["kube_control_plane", "etcd"], "features": ["k0s_controller"],
                              "absent_features": {"kubelet": "process 9 (k0s): a k0s controller without --enable-worker",
                                                  "k8s_nodeport": "process 9 (k0s): a k0s controller without "
                                                                  "--enable-worker"}}}


def test_a_k0s_controller_alone_gets_no_kubelet_or_nodeport_rows_and_the_profile_says_why():
    profile = build_profile("c1", [], cni=K0S_CONTROLLER)
    assert profile["absent_features"] == ["k8s_nodeport", "kubelet"]
    assert any("kubelet is left out of the plan" in note and "--enable-worker" in note for note in profile["notes"])
    inventory = {"hosts": {"c1": {"addresses": ["10.5.0.1"], "roles": profile["roles"]},
                           "w1": {"addresses": ["10.5.0.2"], "roles": ["kube_node"]}},
                 "groups": {"all": ["c1", "w1"]}}
    result = compile_plan({"name": "c1", "features": profile["features"],
                           "absent_features": profile["absent_features"]}, inventory, {"mode": "host"})
    assert "kubelet" not in result["features"] and "k8s_nodeport" not in result["features"]
    assert evaluate(result, "10.5.0.2", "tcp", 10250) == "drop"
    assert evaluate(result, "10.5.0.2", "tcp", 30080) == "drop"
    assert evaluate(result, "10.5.0.2", "tcp", 8132) == "accept"          # konnectivity stays
    # k0s with kine (or k3s with SQLite, MicroK8s with dqlite): the etcd the planner gives a lone
    # control plane is left out too
    kine = compile_plan({"name": "c1", "features": profile["features"], "absent_features": ["etcd"]},
                        inventory, {"mode": "host"})
    assert evaluate(kine, "10.5.0.1", "tcp", 2379) == "drop" and evaluate(result, "10.5.0.1", "tcp", 2379) == "accept"
    # the user can still ask for them
    asked = build_profile("c1", [], cni=K0S_CONTROLLER, features=["kubelet"])
    assert asked["absent_features"] == ["k8s_nodeport"] and "kubelet" in asked["features"]


def test_what_still_blocks_the_plan_is_in_the_plan_and_its_table():
    from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.report import plan_summary, plan_table
    facts = {"firewalld": {"active": True}, "iptables": {"present": True, "nft_rules": 3}, "nftables": {"present": True}}
    profile = build_profile("c1", ["kube_control_plane"], firewall=facts)
    assert profile["blockers"]["iptables"] and profile["blockers"]["nftables"]
    inventory = {"hosts": {"c1": {"addresses": ["10.5.0.1"]}}, "groups": {"all": ["c1"], "kube_control_plane": ["c1"]}}
    result = compile_plan({"name": "c1", "blockers": profile["blockers"]["iptables"]}, inventory, {"mode": "host"})
    assert result["blocked_by"] == profile["blockers"]["iptables"]
    assert "STILL BLOCKED ON THE NODE: firewalld is running" in plan_table(result)
    assert plan_summary(result).endswith("STILL BLOCKED ON THE NODE by 1")
    assert compile_plan({"name": "c1"}, inventory, {"mode": "host"})["blocked_by"] == []


def test_a_node_whose_yaml_was_not_read_has_a_warning_in_its_plan():
    """PyYAML missing on the node (issue 33 item 3): the plan names the files and keeps the defaults."""
    hostvars = k3s_hostvars([])
    plan = plan_of("s1", hostvars, unread=["/etc/rancher/k3s/config.yaml"])
    assert any("did not read /etc/rancher/k3s/config.yaml" in text and "microseg_install_packages" in text
               for text in plan["warnings"])
    assert not any("did not read" in text for text in plan_of("a1", hostvars)["warnings"])
