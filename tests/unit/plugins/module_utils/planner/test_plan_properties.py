# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Property: for any policy - sensible, odd or garbage - the planner returns a valid plan or
raises PlanError with a message. Never another exception, never a rule the kernel would refuse
or our own backends would not take back."""
from __future__ import annotations

import netaddr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.microseg.cluster_firewall.plugins.module_utils import catalog
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.iptables import render as iptables
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.nftables import render as nftables
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.iptables.host import parse_ruleset
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.errors import PlanError
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.plan import compile_plan, compile_plans
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.ports import ports_from_strings

HOSTS = {"cp1": ["192.0.2.11"], "w1": ["192.0.2.21", "2001:db8::21"], "mon": ["203.0.113.5"], "bare": []}
INVENTORY = {"hosts": dict((name, {"addresses": addresses}) for name, addresses in HOSTS.items()),
             "groups": {"kube_control_plane": ["cp1"], "kube_node": ["w1"], "monitoring": ["mon"], "empty": []}}

garbage = st.one_of(st.none(), st.booleans(), st.integers(-5, 70000), st.text(max_size=12),
                    st.lists(st.integers(-1, 3), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
port = st.one_of(st.integers(-1, 65536), st.sampled_from(["22", "1-1024", "1024-1", "0", "65535", "x", "10-20-30", "80,443"]),
                 garbage)
source = st.one_of(st.sampled_from(["monitoring", "kube_node", "cp1", "bare", "empty", "nowhere", "10.0.0.0/8",
                                    "10.0.0.0/33", "2001:db8::/64", "192.0.2.300", "any", ""]), garbage)
proto = st.one_of(st.sampled_from(["tcp", "udp", "sctp", "icmp", "icmpv6", "esp", "ah", "gre", "ipip", "all", "6", "300",
                                   "TCP", "bogus"]), garbage)
rule = st.one_of(st.fixed_dictionaries({}, optional={"port": port, "proto": proto, "from": st.one_of(st.lists(source, max_size=3), source),
                                                     "comment": st.one_of(st.text(max_size=20), garbage)}),
                 garbage)
policy = st.fixed_dictionaries({}, optional={
    "state": st.one_of(st.sampled_from(["monitor", "alert", "block", "drop"]), garbage),
    "mode": st.one_of(st.sampled_from(["host", "service", "strict"]), garbage),
    "scope": st.one_of(st.sampled_from(["node_ip", "cidr", "port", "world"]), garbage),
    "trusted_cidrs": st.one_of(st.lists(source, max_size=2), garbage),
    "management_cidrs": st.one_of(st.lists(source, max_size=2), garbage),
    "management_access": st.one_of(st.booleans(), garbage),
    "whitelist": st.one_of(st.lists(rule, max_size=4), garbage),
    "blacklist": st.one_of(st.lists(rule, max_size=3), garbage),
    "nodeport": st.one_of(st.booleans(), garbage),
    "apiserver_from": st.one_of(st.lists(source, max_size=2), garbage),
    "surprise": garbage,
})
node = st.fixed_dictionaries({"name": st.sampled_from(sorted(HOSTS))}, optional={
    "features": st.lists(st.sampled_from(sorted(catalog.FEATURES) + ["warp_drive"]), max_size=3),
    "ports": st.dictionaries(st.sampled_from(["apiserver", "nodeport_range", "flannel_vxlan", "ssh", "nope"]), port, max_size=2),
    "pod_cidrs": st.lists(source, max_size=2),
    "ssh_port": port,
    "controller_address": st.one_of(st.sampled_from(["198.51.100.250", "", "::1", "999.1.1.1"]), garbage),
})


def check_valid(plan):
    assert plan["default"] in ("return", "monitor", "alert", "drop")
    for rule_ in plan["rules"]:
        assert rule_["proto"] is None or rule_["proto"] in catalog.PROTOCOLS or rule_["proto"] == "all" \
            or str(rule_["proto"]).isdigit() and 0 <= int(rule_["proto"]) <= 255
        for low, high in ports_from_strings(rule_["ports"] or []):
            assert 1 <= low <= high <= 65535
        for name in rule_["from"]:
            assert name in plan["sets"], name
    for content in plan["sets"].values():
        for family, version in (("ipv4", 4), ("ipv6", 6)):
            for cidr in content.get(family, []):
                assert netaddr.IPNetwork(cidr).version == version
    # what the backends render from it, they take back (the module refuses anything else)
    for family in ("ipv4", "ipv6"):
        parse_ruleset(iptables.ruleset_file(plan, family), family)
    nftables.check_ruleset(nftables.ruleset_file(plan))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy=policy, node=node)
def test_any_policy_gives_a_valid_plan_or_a_clear_error(policy, node):
    try:
        plan = compile_plan(node, INVENTORY, policy)
    except PlanError as error:
        assert str(error).strip(), "a PlanError must say what is wrong"
        return
    check_valid(plan)


# Well-formed policies, so that most examples reach the rule building and rendering.
good_port = st.one_of(st.integers(1, 65535), st.tuples(st.integers(1, 65535), st.integers(0, 2000)).map(
    lambda pair: "%d-%d" % (pair[0], min(65535, pair[0] + pair[1]))))
good_source = st.sampled_from(["monitoring", "kube_node", "cp1", "w1", "10.0.0.0/8", "2001:db8::/64", "198.51.100.7"])
good_rule = st.fixed_dictionaries({"port": st.one_of(good_port, st.lists(good_port, min_size=1, max_size=3))}, optional={
    "proto": st.sampled_from(["tcp", "udp", "sctp"]),
    "from": st.lists(good_source, min_size=1, max_size=3),
    "comment": st.text(max_size=30),
})
good_policy = st.fixed_dictionaries({
    "state": st.sampled_from(["monitor", "alert", "block"]),
    "mode": st.sampled_from(["host", "service"]),
    "scope": st.sampled_from(["node_ip", "cidr", "port"]),
    "trusted_cidrs": st.lists(st.sampled_from(["192.0.2.0/24", "2001:db8::/32"]), min_size=1, max_size=2),
}, optional={
    "management_cidrs": st.lists(good_source.filter(lambda s: "/" in s or "." in s), max_size=2),
    "management_access": st.booleans(),
    "whitelist": st.lists(good_rule, max_size=5),
    "blacklist": st.lists(good_rule, max_size=3),
    "nodeport": st.booleans(),
    "apiserver_from": st.lists(good_source, max_size=2),
})
good_node = st.fixed_dictionaries({"name": st.sampled_from(sorted(HOSTS))}, optional={
    "features": st.lists(st.sampled_from(sorted(catalog.FEATURES)), max_size=4),
    "ports": st.dictionaries(st.sampled_from(["apiserver", "flannel_vxlan", "ssh"]), st.integers(1, 65535), max_size=2),
    "pod_cidrs": st.lists(st.sampled_from(["10.244.0.0/16", "fd00:10:244::/56"]), max_size=2),
    "controller_address": st.sampled_from(["198.51.100.250", "2001:db8::250"]),
})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy=good_policy, node=good_node)
def test_well_formed_policies_give_valid_plans(policy, node):
    plan = compile_plan(node, INVENTORY, policy)
    check_valid(plan)


def alone(node_, policy_):
    try:
        return {"plan": compile_plan(node_, INVENTORY, policy_)}
    except PlanError as error:
        return {"error": str(error)}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items=st.lists(st.tuples(st.one_of(good_node, node), st.one_of(good_policy, policy)), min_size=1, max_size=4,
                      unique_by=lambda item: item[0]["name"]))
def test_planning_nodes_together_gives_what_each_gets_alone(items):
    """The shared work of compile_plans leaks nothing between nodes: each node gets the plan (or
    the error) it gets when planned on its own, whatever the others' policies are."""
    together = compile_plans([{"node": node_, "policy": policy_} for node_, policy_ in items], INVENTORY)
    assert together == dict((node_["name"], alone(node_, policy_)) for node_, policy_ in items)
