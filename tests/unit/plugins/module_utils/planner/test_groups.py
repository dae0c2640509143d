# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which inventory groups make a host a cluster node: the installers' layouts and microseg_group_map."""
from __future__ import annotations

import pytest

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.errors import PlanError
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.groups import (
    check_group_map,
    features_of,
    roles_of,
)
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.profile import build_profile


@pytest.mark.parametrize("group_names, roles", [
    (["kube_control_plane", "etcd", "k8s_cluster"], {"kube_control_plane", "etcd"}),     # kubespray
    (["kube-master", "k8s-cluster"], {"kube_control_plane"}),                             # older kubespray
    (["kube_master"], {"kube_control_plane"}),
    (["kube-node"], {"kube_node"}),
    (["calico_rr", "k8s_cluster"], {"kube_node"}),     # kubespray's standalone Calico route reflectors
    (["calico-rr"], {"kube_node"}),
    (["server", "k3s_cluster"], {"kube_control_plane"}),                                  # k3s-ansible
    (["agent", "k3s_cluster"], {"kube_node"}),
    (["server"], set()),                       # not inside k3s_cluster: some other inventory's servers
    (["rke2_servers", "rke2_cluster"], {"kube_control_plane"}),                           # rke2-ansible
    (["rke2_agents"], {"kube_node"}),
    (["swarm_managers"], {"swarm_manager"}),
    (["k8s_cluster", "ungrouped", "all"], set()),
])
def test_installer_groups(group_names, roles):
    assert roles_of(group_names) == roles


def test_the_map_adds_groups_and_replaces_a_layouts_meaning():
    group_map = {"masters": "kube_control_plane", "nodes": ["kube_node", "swarm_worker"], "agent": []}
    assert roles_of(["masters"], group_map) == {"kube_control_plane"}
    assert roles_of(["nodes"], group_map) == {"kube_node", "swarm_worker"}
    assert roles_of(["agent", "k3s_cluster"], group_map) == set()        # an empty list takes the meaning away
    assert roles_of(["server", "k3s_cluster"], group_map) == {"kube_control_plane"}


@pytest.mark.parametrize("group_map, message", [
    ({"masters": "master"}, "microseg_group_map[masters]: 'master' is not a cluster role; allowed: etcd, "),
    ({"masters": 3}, "microseg_group_map[masters]: 3 must be a role or a list of roles"),
    (["masters"], "microseg_group_map: ['masters'] must be a dict"),
    ({"": "kube_node"}, "group '' must be a group name"),
])
def test_a_bad_map_is_refused_naming_the_value(group_map, message):
    with pytest.raises(PlanError, match=message.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(")):
        check_group_map(group_map)


def test_a_node_that_runs_kubernetes_but_has_no_role_is_named_with_the_fix():
    profile = build_profile("n1", ["masters"], cni={"kubernetes": {"distribution": "kubeadm"}})
    assert profile["roles"] == []
    assert profile["warnings"] == [
        "n1 runs Kubernetes but has no cluster role (its groups: masters): put it in one of kube_control_plane, "
        "kube_node, etcd, calico_rr, kube-master, kube_master, kube-node, calico-rr, rke2_servers, rke2_agents, swarm_managers, "
        "swarm_workers, server/agent under k3s_cluster, master/node under k3s_cluster, or map one of its groups with microseg_group_map"]
    mapped = build_profile("n1", ["masters"], cni={"kubernetes": {"distribution": "kubeadm"}},
                           group_map={"masters": "kube_control_plane"})
    assert mapped["roles"] == ["kube_control_plane"]
    assert mapped["warnings"] == []


def test_rke2_servers_run_the_supervisor_unless_the_map_says_otherwise():
    assert features_of(["rke2_servers"]) == {"rke2_supervisor"}
    assert features_of(["rke2_agents"]) == set()
    assert features_of(["rke2_servers"], {"rke2_servers": "kube_control_plane"}) == set()


def test_techno_tims_master_and_node_count_inside_k3s_cluster_only():
    """techno-tim/k3s-ansible's inventory/sample/hosts.ini: [master], [node], [k3s_cluster:children]."""
    assert roles_of(["master", "k3s_cluster"]) == {"kube_control_plane"}
    assert roles_of(["node", "k3s_cluster"]) == {"kube_node"}
    assert roles_of(["node"]) == set() and roles_of(["master"]) == set()
