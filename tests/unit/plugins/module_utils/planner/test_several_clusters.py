# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Several clusters in one inventory (issue 35, item 10): a host's microseg_cluster names its
cluster; the peer sets, the pod and Service networks and the cluster-wide settings and features
of a node's plan come from its own cluster's hosts only; a user's list still names any host."""
from __future__ import annotations

import pytest

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.errors import PlanError
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.inventory import build_inventory
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.plan import compile_plan, compile_plans
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.verify import evaluate

# two kubespray clusters, as one AWX inventory per team holds them: each its own groups' names
# under a parent group, its own pod and Service networks (kubespray's variables)
GROUPS = {
    "all": ["a-cp", "a-w", "b-cp", "b-w"],
    "kube_control_plane": ["a-cp", "b-cp"],
    "kube_node": ["a-w", "b-w"],
    "team_a": ["a-cp", "a-w"],
    "team_b": ["b-cp", "b-w"],
}
NETWORKS = {
    "a": {"kube_pods_subnet": "10.233.64.0/18", "kube_service_addresses": "10.233.0.0/18"},
    "b": {"kube_pods_subnet": "10.244.0.0/16", "kube_service_addresses": "10.96.0.0/12"},
}


def hostvars(cluster_a="a", cluster_b="b"):
    result = {}
    for index, name in enumerate(GROUPS["all"]):
        team = name[0]
        host = dict(NETWORKS[team], ip="10.%d.0.%d" % (1 if team == "a" else 2, index + 1), kube_proxy_mode="ipvs")
        cluster = cluster_a if team == "a" else cluster_b
        if cluster is not None:
            host["microseg_cluster"] = cluster
        result[name] = host
    return result


A_CP, A_W, B_CP, B_W = "10.1.0.1", "10.1.0.2", "10.2.0.3", "10.2.0.4"
POLICY = {"mode": "host", "state": "block"}


def plan_of(node, hostvars_=None, policy=None, **node_keys):
    inventory = build_inventory(hostvars_ or hostvars(), GROUPS)
    return compile_plan(dict({"name": node, "features": ["calico_vxlan"]}, **node_keys), inventory,
                        dict(POLICY, **(policy or {})))


def verdicts(plan, sources, proto, port):
    return dict((source, evaluate(plan, source, proto, port)) for source in sources)


@pytest.mark.parametrize("proto, port, expected", [
    ("tcp", 10250, {A_W: "accept", B_CP: "drop", B_W: "drop"}),         # kubelet: every node of the cluster
    ("udp", 4789, {A_W: "accept", B_CP: "drop", B_W: "drop"}),          # Calico VXLAN: every node of the cluster
    ("tcp", 2379, {A_W: "drop", B_CP: "drop", B_W: "drop"}),            # etcd: the cluster's control planes
])
def test_a_node_does_not_admit_the_other_clusters_nodes_to_its_cluster_ports(proto, port, expected):
    plan = plan_of("a-cp")
    assert verdicts(plan, [A_W, B_CP, B_W], proto, port) == expected
    assert plan["sets"]["cluster_nodes"]["ipv4"] == [A_CP + "/32", A_W + "/32"]
    assert "of cluster a" in plan["sets"]["cluster_nodes"]["why"]


def test_without_microseg_cluster_the_inventory_is_one_cluster():
    plan = plan_of("a-cp", hostvars(None, None))
    assert verdicts(plan, [A_W, B_CP, B_W], "tcp", 10250) == {A_W: "accept", B_CP: "accept", B_W: "accept"}
    assert verdicts(plan, [B_CP], "tcp", 2379) == {B_CP: "accept"}
    assert "of cluster" not in plan["sets"]["cluster_nodes"]["why"]


def test_hosts_that_set_no_cluster_are_one_cluster_beside_the_named_ones():
    plan = plan_of("a-cp", hostvars(None, "b"))
    assert verdicts(plan, [A_W, B_CP], "tcp", 10250) == {A_W: "accept", B_CP: "drop"}
    assert verdicts(plan_of("b-w", hostvars(None, "b")), [A_CP, B_CP], "tcp", 10250) == {A_CP: "drop", B_CP: "accept"}


def test_the_pod_and_service_networks_are_each_clusters_own():
    plan = plan_of("b-w", hostvars(cluster_a="a"))
    assert plan["networks"]["pod_cidrs"]["cidrs"] == ["10.244.0.0/16"]
    assert plan["networks"]["service_cidrs"]["cidrs"] == ["10.96.0.0/12"]
    assert "10.233.64.0/18" not in str(plan["sets"])
    assert plan_of("a-w")["networks"]["pod_cidrs"]["cidrs"] == ["10.233.64.0/18"]
    assert not [warning for warning in plan["warnings"] if "differs between hosts" in warning]


def test_cluster_wide_ports_and_features_stay_in_their_cluster():
    """k0s beside RKE2: the NodePort range one control plane showed, and a k3s server's embedded
    registry, are not the other cluster's."""
    inventory = {"hosts": {"k0s": {"addresses": ["10.1.0.1"], "roles": ["kube_control_plane"], "cluster": "k0s"},
                           "rke2": {"addresses": ["10.2.0.1"], "roles": ["kube_control_plane"], "cluster": "rke2",
                                    "cluster_ports": {"nodeport_range": "40000-40999"},
                                    "cluster_features": ["k3s_embedded_registry"]}},
                 "groups": {}}
    plans = compile_plans([{"node": {"name": name}, "policy": POLICY} for name in ("k0s", "rke2")], inventory)
    k0s, rke2 = plans["k0s"]["plan"], plans["rke2"]["plan"]
    assert evaluate(k0s, "192.0.2.1", "tcp", 30000) == "accept" and evaluate(k0s, "192.0.2.1", "tcp", 40000) == "drop"
    assert evaluate(rke2, "192.0.2.1", "tcp", 40000) == "accept" and evaluate(rke2, "192.0.2.1", "tcp", 30000) == "drop"
    assert "k3s_embedded_registry" in rke2["features"] and "k3s_embedded_registry" not in k0s["features"]


def test_stacked_etcd_is_decided_per_cluster():
    """Cluster a has etcd hosts of its own; cluster b has none, so its control plane runs etcd."""
    inventory = {"hosts": {"a-cp": {"addresses": ["10.1.0.1"], "roles": ["kube_control_plane"], "cluster": "a"},
                           "a-etcd": {"addresses": ["10.1.0.9"], "roles": ["etcd"], "cluster": "a"},
                           "b-cp": {"addresses": ["10.2.0.1"], "roles": ["kube_control_plane"], "cluster": "b"}},
                 "groups": {}}
    plans = compile_plans([{"node": {"name": name}, "policy": POLICY} for name in ("a-cp", "b-cp")], inventory)
    assert "etcd" in plans["b-cp"]["plan"]["roles"] and "etcd" not in plans["a-cp"]["plan"]["roles"]


def test_a_whitelisted_cross_cluster_flow_is_admitted():
    """A list names the other cluster's group or host: that flow is admitted, nothing more."""
    plan = plan_of("a-cp", policy={"whitelist": [{"port": 10250, "from": ["team_b"]}],
                                   "apiserver_from": ["b-w", "team_a"]})
    assert verdicts(plan, [A_W, B_CP, B_W], "tcp", 10250) == {A_W: "accept", B_CP: "accept", B_W: "accept"}
    assert verdicts(plan, [A_W, B_CP, B_W], "tcp", 6443) == {A_W: "accept", B_CP: "drop", B_W: "accept"}
    assert verdicts(plan, [B_CP], "tcp", 2379) == {B_CP: "drop"}


@pytest.mark.parametrize("value", ["", "team a", "-a", ["a"], {"name": "a"}, True])
def test_a_bad_cluster_name_is_refused_naming_it_and_what_is_allowed(value):
    variables = hostvars()
    variables["b-w"]["microseg_cluster"] = value
    with pytest.raises(PlanError) as error:
        build_inventory(variables, GROUPS)
    assert "microseg_cluster of host b-w: %r" % (value,) in str(error.value)
    assert "letters, digits" in str(error.value) and "or unset" in str(error.value)
    with pytest.raises(PlanError) as error:
        compile_plan({"name": "a"}, {"hosts": {"a": {"addresses": ["10.0.0.1"], "cluster": value}}, "groups": {}}, {})
    assert "microseg_cluster of host a: %r" % (value,) in str(error.value)


def test_a_numeric_cluster_name_is_a_name():
    variables = hostvars(cluster_a=2024, cluster_b="2025")
    assert build_inventory(variables, GROUPS)["hosts"]["a-cp"]["cluster"] == "2024"
    assert verdicts(plan_of("a-cp", variables), [A_W, B_CP], "tcp", 10250) == {A_W: "accept", B_CP: "drop"}
