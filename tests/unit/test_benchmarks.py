# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The benchmarks' own logic (not their figures: those are printed by make bench, never asserted)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))

import bench_apply  # noqa: E402  pylint: disable=wrong-import-position
import fleet  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.inventory import build_inventory  # noqa: E402
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.plan import compile_plans  # noqa: E402


def worker_plan(size):
    plans = compile_plans(fleet.plan_inputs(size), build_inventory(fleet.hostvars(size), fleet.groups(size)))
    return plans[fleet.host_name(size - 1)]["plan"]


def test_the_baseline_writes_one_rule_per_peer_port_and_family():
    plan = worker_plan(10)
    items = bench_apply.baseline_rules(plan)
    bgp = [item for item in items if item.get("destination_port") in ("179", "5473") and item["jump"] == "ACCEPT"]
    assert len(bgp) == 2 * 10                                # two ports, from each of the 10 nodes
    assert {item["source"] for item in bgp} == {"%s/32" % fleet.address(index) for index in range(10)}
    nodeports = [item for item in items if item.get("destination_port") == "30000:32767" and item["jump"] == "ACCEPT"]
    assert {(item["protocol"], item["ip_version"]) for item in nodeports} == {
        (proto, family) for proto in ("tcp", "udp") for family in ("ipv4", "ipv6")}
    assert {"in_interface": "lo", "ip_version": "ipv4", "jump": "ACCEPT"} in items
    # the baseline grows with the fleet, the plan's rules do not
    bigger = worker_plan(100)
    # BGP, Typha, Typha's health checks and the kubelet are admitted from every node: four more
    # rules per node
    assert len(bench_apply.baseline_rules(bigger)) == len(items) + 4 * 90
    assert len(bigger["rules"]) == len(plan["rules"])


def test_module_runs_are_counted_from_the_results_invocations():
    ran = {"invocation": {"module_args": {}}}
    output = {"plays": [{"tasks": [
        {"hosts": {"a": {"action": "ansible.builtin.set_fact"}}},
        {"hosts": {"a": {"action": "ansible.builtin.validate_argument_spec"}}},     # a role's argument check
        {"hosts": {"a": {"action": "ansible.builtin.iptables", "results": [ran, {"skipped": True}, ran]}}},
        {"hosts": {"a": dict(ran, action="microseg.cluster_firewall.node_facts"),
                   "b": {"action": "microseg.cluster_firewall.node_facts", "skipped": True}}},
        # the steady state: host_firewall's action found the node holding the request, no module ran
        {"hosts": {"a": {"action": "microseg.cluster_firewall.host_firewall", "steady": True},
                   "b": dict(ran, action="microseg.cluster_firewall.host_firewall", steady=False)}},
        # a change: the apply, then the confirm over a new connection, in the same task
        {"hosts": {"b": dict(ran, action="microseg.cluster_firewall.host_firewall", confirmed=True)}},
    ]}]}
    assert bench_apply.module_runs(output) == {"a": 3, "b": 3}
    assert bench_apply.tasks_per_host(output) == {"a": 5, "b": 3}


def test_the_planning_benchmark_prints_its_table():
    proc = subprocess.run([sys.executable, str(BENCH / "bench_planning.py"), "--sizes", "10", "40"],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[1].split()[:2] == ["hosts", "whitelist_plans"]
    assert lines[-1].startswith("target: 40 hosts in under 10 s:")


def test_the_firewalld_baseline_writes_one_rich_rule_per_peer_and_port():
    import bench_firewalld  # noqa: E402  pylint: disable=import-outside-toplevel
    plan = worker_plan(10)
    rules = bench_firewalld.baseline_rich_rules(plan)
    bgp = [rule for rule in rules if 'port port="179" protocol="tcp"' in rule]
    assert len(bgp) == 10 and all(rule.startswith('rule family="ipv4" source address="') for rule in bgp)
    assert 'rule family="ipv4" port port="30000-32767" protocol="tcp" accept' in rules
    assert len(bench_firewalld.baseline_rich_rules(worker_plan(100))) > len(rules)


def test_the_firewalld_baseline_keeps_the_blacklist_and_only_the_plans_icmp_types():
    import bench_firewalld  # noqa: E402  pylint: disable=import-outside-toplevel
    plan = worker_plan(10)
    blacklist = [cidr for rule in plan["rules"] if rule["action"] == "drop" and rule["from"]
                 for name in rule["from"] for cidr in plan["sets"][name]["ipv4"]]
    assert blacklist, "the fleet has a blacklist"
    rules = bench_firewalld.baseline_rich_rules(plan)
    assert ['rule family="ipv4" source address="%s" drop' % cidr for cidr in blacklist] == [
        rule for rule in rules if rule.endswith(" drop")]
    # no rule opens ICMP as a whole: the plan admits some types, which the zone lists
    assert not [rule for rule in rules if "icmp" in rule]
    blocks = bench_firewalld.baseline_icmp_blocks(plan)
    assert {"destination-unreachable", "time-exceeded", "parameter-problem", "packet-too-big",
            "neighbour-solicitation"} <= set(blocks)
    assert len(blocks) == len(set(blocks))
    # the drops for everyone else are the zone's own reject, not rules
    assert not [rule for rule in rules if rule.endswith(" drop") and "source" not in rule]


def test_both_baselines_name_each_peer_where_the_plan_joined_neighbours():
    import bench_firewalld  # noqa: E402  pylint: disable=import-outside-toplevel
    peers = ["10.89.0.2", "10.89.0.3", "10.89.0.4", "10.89.0.5", "10.89.0.6"]
    # the planner joins the lab's neighbouring node addresses; a user names each node
    assert bench_apply.per_peer(["10.89.0.2/31", "10.89.0.4/31", "10.89.0.6/32"], peers) == [
        "10.89.0.2/32", "10.89.0.3/32", "10.89.0.4/32", "10.89.0.5/32", "10.89.0.6/32"]
    # a network that holds more than the peers (the pod network, a user's CIDR) stays one source
    assert bench_apply.per_peer(["10.89.0.0/29", "10.244.0.0/16"], peers) == ["10.89.0.0/29", "10.244.0.0/16"]
    plan = {"sets": {"cluster_nodes": {"ipv4": ["10.89.0.2/31"], "ipv6": []}}, "rules": [
        {"action": "accept", "families": ["ipv4"], "from": ["cluster_nodes"], "proto": "tcp", "ports": ["179"],
         "icmp_types": [], "match": None}]}
    assert bench_firewalld.baseline_rich_rules(plan, peers) == [
        'rule family="ipv4" source address="10.89.0.%d/32" port port="179" protocol="tcp" accept' % last
        for last in (2, 3)]
    assert [item["source"] for item in bench_apply.baseline_rules(plan, peers)] == ["10.89.0.2/32", "10.89.0.3/32"]
    # without the peers (a plan of spread-out addresses) the plan's CIDRs are the sources
    assert [item["source"] for item in bench_apply.baseline_rules(plan)] == ["10.89.0.2/31"]
