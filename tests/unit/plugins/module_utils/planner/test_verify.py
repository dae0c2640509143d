# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The verify matrix: the plan's own verdicts, one admitted and one refused source per port."""
from __future__ import annotations

import pytest

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.plan import compile_plan
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.verify import (
    evaluate,
    probe_matrix,
    verdict_table,
    verdicts,
)

INVENTORY = {"hosts": {"cp1": {"addresses": ["10.89.0.11"]}, "cp2": {"addresses": ["10.89.0.12"]},
                       "w1": {"addresses": ["10.89.0.21"]}},
             "groups": {"kube_control_plane": ["cp1", "cp2"], "kube_node": ["w1"]}}


def plans(policy):
    return dict((host, compile_plan({"name": host, "features": ["flannel_vxlan"]}, INVENTORY, policy))
                for host in INVENTORY["hosts"])


@pytest.mark.parametrize("policy, source, port, verdict", [
    ({"mode": "host"}, "10.89.0.12", 2379, "accept"),        # control-plane peer
    ({"mode": "host"}, "10.89.0.21", 2379, "drop"),          # a worker
    ({"mode": "host"}, "10.89.0.21", 6443, "accept"),        # from all
    ({"mode": "host"}, "10.89.0.21", 9, "drop"),
    ({"mode": "service"}, "10.89.0.21", 9, "return"),        # unlisted port passes
    ({"mode": "service"}, "10.89.0.21", 2379, "drop"),       # guarded
    ({"mode": "host", "state": "alert"}, "10.89.0.21", 9, "alert"),
    ({"mode": "host", "blacklist": [{"from": ["10.89.0.12"]}]}, "10.89.0.12", 2379, "drop"),
    ({"mode": "host"}, "10.89.0.99", 22, "accept"),          # management from anywhere (unknown sources)
])
def test_evaluate_reads_the_plan_as_the_kernel_does(policy, source, port, verdict):
    assert evaluate(plans(policy)["cp1"], source, "tcp", port) == verdict


def test_matrix_has_an_admitted_and_a_refused_source_and_a_negative_control():
    matrix = probe_matrix(plans({"mode": "host"}), dict((h, e["addresses"]) for h, e in INVENTORY["hosts"].items()))
    to_cp1 = [(source, p["port"], p["expect"]) for source, probes in matrix.items() for p in probes if p["target"] == "cp1"]
    assert ("cp2", 2379, "passes") in to_cp1 and ("w1", 2379, "blocked") in to_cp1
    assert ("cp2", 9, "blocked") in to_cp1
    # the API server admits everyone: one source that passes, none that could be blocked
    assert [entry for entry in to_cp1 if entry[1] == 6443] == [("cp2", 6443, "passes")]


def test_verdicts_read_refused_as_passed_and_timeout_as_blocked():
    matrix = {"w1": [{"target": "cp1", "address": "10.89.0.11", "port": 6443, "expect": "passes", "why": "a"},
                     {"target": "cp1", "address": "10.89.0.11", "port": 9, "expect": "blocked", "why": "b"},
                     {"target": "cp1", "address": "10.89.0.11", "port": 2379, "expect": "blocked", "why": "c"}]}
    results = {"w1": [{"address": "10.89.0.11", "port": 6443, "state": "refused"},
                      {"address": "10.89.0.11", "port": 9, "state": "timeout"},
                      {"address": "10.89.0.11", "port": 2379, "state": "open"}]}
    rows = verdicts(matrix, results)
    assert [row["ok"] for row in rows] == [True, True, False]
    assert verdict_table(rows).splitlines()[-1] == "3 flows, 2 as expected, 1 broken"


def test_matrix_probes_every_listed_port_and_self_only_ports_from_the_node_itself():
    matrix = probe_matrix(plans({"mode": "host"}), dict((h, e["addresses"]) for h, e in INVENTORY["hosts"].items()))
    to_cp1 = sorted((source, p["port"], p["expect"]) for source, probes in matrix.items() for p in probes
                    if p["target"] == "cp1")
    # 2379-2380 is one range: its first port; 10257 and 10259 are two ports of one rule: both
    assert [entry for entry in to_cp1 if entry[1] in (2380, 10257, 10259)] == [
        ("cp1", 10257, "passes"), ("cp1", 10259, "passes"), ("cp2", 10257, "blocked"), ("cp2", 10259, "blocked")]
    # a port other nodes reach is never probed from the node itself
    assert not [entry for entry in to_cp1 if entry[0] == "cp1" and entry[1] not in (10257, 10259)]


def test_a_single_node_cluster_expects_nothing_blocked_from_itself():
    """From the node to itself goes over loopback, which every plan admits: a lone node is never
    the source of a 'blocked' probe (it would fail verify and the rollout gate falsely)."""
    alone = {"hosts": {"solo": {"addresses": ["10.89.0.31"]}}, "groups": {"kube_control_plane": ["solo"]}}
    plan = compile_plan({"name": "solo", "features": ["flannel_vxlan"]}, alone, {"mode": "host"})
    matrix = probe_matrix({"solo": plan}, {"solo": ["10.89.0.31"]})
    assert matrix["solo"] and all(probe["expect"] == "passes" for probe in matrix["solo"])
    assert 9 not in [probe["port"] for probe in matrix["solo"]]  # no other node to show the closed port


@pytest.mark.parametrize("blacklist_state", ["monitor", "alert"])
def test_a_watching_blacklist_leaves_the_verdict_to_the_whitelist(blacklist_state):
    policy = {"mode": "host", "blacklist_state": blacklist_state, "blacklist": [{"from": ["10.89.0.21"]}]}
    plan = plans(policy)["cp1"]
    assert evaluate(plan, "10.89.0.21", "tcp", 6443) == "accept"
    assert evaluate(plan, "10.89.0.21", "tcp", 2379) == "drop"
