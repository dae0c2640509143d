# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Node profile: inventory groups first, detection fills in, conflicts reported, user wins on ports."""
from __future__ import annotations

import pytest

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.profile import build_profile, choose_backend


def docker(roles=(), features=(), ports=None, reachable=True):
    return {"reachable": reachable, "derived": {"roles": list(roles), "features": list(features),
                                                "ports": ports or {}, "port_origins": dict((k, "docker") for k in ports or {})}}


def cni(roles=(), features=(), ports=None, pod_cidrs=(), notes=()):
    return {"kubernetes": {"roles": list(roles)},
            "derived": {"roles": list(roles), "features": list(features), "ports": ports or {},
                        "port_origins": dict((k, "cni") for k in ports or {}), "pod_cidrs": list(pod_cidrs),
                        "notes": list(notes)}}


def test_detection_fills_in_a_host_in_no_group():
    profile = build_profile("n1", ["ungrouped"], docker(["swarm_worker"]), cni(["kube_node"], ["flannel_vxlan"]))
    assert profile["roles"] == ["kube_node", "swarm_worker"]
    assert profile["features"] == ["flannel_vxlan"] and profile["conflicts"] == []


def test_groups_win_and_disagreements_are_reported():
    profile = build_profile("cp1", ["kube_control_plane"], docker(), cni(["kube_node"]))
    assert profile["roles"] == ["kube_control_plane"]
    assert profile["conflicts"] == ["cp1: kubernetes roles from the inventory groups are kube_control_plane, "
                                    "detection found kube_node; the groups win"]


def test_agreement_is_not_a_conflict_stacked_etcd_included():
    profile = build_profile("cp1", ["kube_control_plane"], docker(), cni(["kube_control_plane", "etcd"]))
    assert profile["conflicts"] == [] and profile["roles"] == ["kube_control_plane"]
    profile = build_profile("m1", ["swarm_managers"], docker(["swarm_manager"]), cni())
    assert profile["conflicts"] == []


def test_nothing_found_on_a_grouped_host_is_a_conflict_only_when_detection_ran():
    found_nothing = build_profile("w1", ["kube_node", "swarm_workers"], docker(), cni())
    assert len(found_nothing["conflicts"]) == 2
    not_gathered = build_profile("w1", ["kube_node", "swarm_workers"], {}, {})
    assert not_gathered["conflicts"] == [] and not_gathered["roles"] == ["kube_node", "swarm_worker"]
    daemon_down = build_profile("w1", ["swarm_workers"], docker(reachable=False), {})
    assert daemon_down["conflicts"] == []


def test_each_cluster_is_decided_on_its_own():
    profile = build_profile("n1", ["kube_node"], docker(["swarm_manager"]), cni(["kube_node"]))
    assert profile["roles"] == ["kube_node", "swarm_manager"]


def test_ports_detected_then_user_and_pod_cidrs():
    profile = build_profile("n1", [], docker(ports={"swarm_data_path": 4800}),
                            cni(ports={"flannel_vxlan": 8572, "apiserver": 8443}, pod_cidrs=["10.244.0.0/16"]),
                            features=["kube_proxy_healthz"], ports={"apiserver": 9443})
    assert profile["ports"] == {"swarm_data_path": 4800, "flannel_vxlan": 8572, "apiserver": 9443}
    assert profile["port_origins"] == {"swarm_data_path": "docker", "flannel_vxlan": "cni", "apiserver": "microseg_ports"}
    assert profile["pod_cidrs"] == ["10.244.0.0/16"]
    assert profile["features"] == ["kube_proxy_healthz"]
    assert build_profile("n1", [], {}, cni(pod_cidrs=["10.244.0.0/16"]), pod_cidrs=["10.1.0.0/16"])["pod_cidrs"] == ["10.1.0.0/16"]


def test_offline_profile_from_groups_only():
    profile = build_profile("cp1", ["kube_control_plane", "k8s_cluster"], {}, {}, ["flannel_vxlan"], {}, [])
    assert profile == {"roles": ["kube_control_plane"], "features": ["flannel_vxlan"], "absent_features": [], "unread": [],
                       "ports": {},
                       "port_origins": {}, "pod_cidrs": [], "service_cidrs": [], "nodelocal_dns": [],
                       "cluster_ips": [], "network_origins": {}, "backend": "iptables",
                       "backend_reason": "no firewall facts: the default", "blockers": {}, "conflicts": [], "warnings": [],
                       "notes": [], "installer_cni": None}


@pytest.mark.parametrize("facts, mode, backend", [
    (None, None, "iptables"),
    ({"iptables": {"present": True, "nft_rules": 12}, "nftables": {"present": True}}, "nftables", "iptables"),
    ({"iptables": {"present": True, "nft_rules": 0}, "nftables": {"present": True}}, "nftables", "nftables"),
    ({"iptables": {"present": False}, "nftables": {"present": True}}, None, "nftables"),
    ({"iptables": {"present": True}, "nftables": {"present": True}}, None, "iptables"),
    ({"iptables": {"present": False}, "nftables": {"present": False}}, None, "iptables"),
])
def test_choose_backend(facts, mode, backend):
    assert choose_backend(facts, mode)[0] == backend


def test_the_backend_follows_dockers_nftables_backend():
    empty = {"iptables": {"present": True, "nft_rules": 0}, "nftables": {"present": True}}
    assert choose_backend(empty, None, "nftables") == ("nftables", "Docker runs its nftables firewall backend")
    assert choose_backend(empty, None, "iptables")[0] == "iptables"
    # iptables already holds rules (a CNI's): stay with them, never mix
    assert choose_backend({"iptables": {"present": True, "legacy_rules": 5}, "nftables": {"present": True}},
                          None, "nftables")[0] == "iptables"
    profile = build_profile("d1", [], docker={"reachable": True, "derived": {
        "roles": [], "features": [], "firewall_backend": "nftables", "notes": ["docker: nft"]}}, firewall=empty)
    assert profile["backend"] == "nftables" and "docker: nft" in profile["notes"]


def test_firewalld_on_its_iptables_backend_is_chosen_and_the_plan_says_what_a_reload_does():
    firewall = {"firewalld": {"active": True, "backend": "iptables"}, "iptables": {"present": True},
                "nftables": {"present": True}}
    profile = build_profile("el1", ["kube_node"], firewall=firewall)
    assert profile["backend"] == "firewalld"
    notes = [note for note in profile["notes"] if "iptables backend" in note]
    assert len(notes) == 1 and "direct rules" in notes[0] and "flushes every iptables table" in notes[0]
    firewall["firewalld"]["backend"] = "nftables"
    assert not [note for note in build_profile("el1", ["kube_node"], firewall=firewall)["notes"]
                if "iptables backend" in note]


def test_yaml_files_detection_could_not_read_are_a_warning_in_the_profile_and_the_plan():
    """PyYAML missing on the node (issue 33 item 3): the files are named, nothing is guessed."""
    found = dict(cni(), yaml_unread=["/etc/rancher/k3s/config.yaml"])
    profile = build_profile("k1", ["kube_node"], {}, found)
    assert profile["unread"] == ["/etc/rancher/k3s/config.yaml"]
    assert any("did not read /etc/rancher/k3s/config.yaml (PyYAML" in text for text in profile["warnings"])
