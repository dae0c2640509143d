# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""firewalld backend, pure part: the objects a plan gives, and reading firewalld's listings."""
from __future__ import annotations

import json

import pytest

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.firewalld import render as firewalld
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.registry import spec_of
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.plan import compile_plan
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.profile import choose_backend

INVENTORY = {"hosts": {"cp1": {"addresses": ["10.89.0.11", "fd00::11"]}, "w1": {"addresses": ["10.89.0.21"]}},
             "groups": {"kube_control_plane": ["cp1"], "kube_node": ["w1"]}}


def plan(policy=None, features=("flannel_vxlan",)):
    return compile_plan({"name": "cp1", "features": list(features)}, INVENTORY, policy or {"mode": "host"})


def test_the_policy_accepts_what_the_plan_admits_by_set_protocol_and_port():
    files = firewalld.objects(plan({"mode": "host", "whitelist": [{"proto": "ipip"}, {"port": "8000-8010"}]}))
    policy = files[firewalld.POLICY_FILE]
    assert '<policy target="CONTINUE" priority="-30000">' in policy
    assert '<ingress-zone name="ANY"/>' in policy and '<egress-zone name="HOST"/>' in policy
    assert ('  <rule family="ipv4">\n    <source ipset="microseg-control-plane-v4"/>\n'
            '    <port port="2379-2380" protocol="tcp"/>\n    <accept/>\n  </rule>') in policy
    assert '  <rule>\n    <port port="6443" protocol="tcp"/>\n    <accept/>\n  </rule>' in policy   # from any: both families
    assert '<port port="8000-8010" protocol="tcp"/>' in policy
    assert '<protocol value="4"/>' in policy                 # IP-in-IP by number: /etc/protocols' ipip is 94
    assert '<icmp-type name="time-exceeded"/>' in policy
    assert "drop" not in policy and "reject" not in policy   # blocking stays in our table
    v6 = files["ipsets/microseg-control-plane-v6.xml"]
    assert '<option name="family" value="inet6"/>' in v6 and "<entry>fd00::11/128</entry>" in v6
    assert "<entry>10.89.0.11/32</entry>" in files["ipsets/microseg-control-plane-v4.xml"]
    assert sorted(json.loads(firewalld.objects_file(plan()))) == sorted(firewalld.objects(plan()))


def test_a_passthrough_plan_has_no_objects_and_foreign_objects_are_refused():
    empty = compile_plan({"name": "x"}, {"hosts": {"x": {"addresses": ["10.0.0.1"]}}, "groups": {}}, {})
    assert firewalld.objects(empty) == {}
    firewalld.check_objects(firewalld.objects(plan()))
    for files in ({"zones/public.xml": "<?xml"}, {"ipsets/other.xml": "<?xml"}, {"ipsets/microseg-x/../a.xml": "<?xml"},
                  {firewalld.POLICY_FILE: "not xml"}, ["policies/microseg.xml"]):
        with pytest.raises(ValueError):
            firewalld.check_objects(files)
    with pytest.raises(ValueError, match="too long for a firewalld ipset"):
        firewalld.ipset_name("a_very_long_set_name_for_firewalld", "ipv4")


RUNTIME = """public (active)
  target: default
  interfaces: eth0
  ports: 9999/tcp 7777/tcp
microseg (active)
  priority: -30000
  rich rules:
\trule port port="6443" protocol="tcp" accept
"""
PERMANENT = """public
  target: default
  interfaces:
  ports: 9999/tcp
"""


def test_what_a_reload_would_lose_leaves_out_interfaces_and_our_policy():
    assert firewalld.runtime_only(RUNTIME, PERMANENT) == ["ports: 9999/tcp 7777/tcp"]
    assert firewalld.runtime_only(PERMANENT, PERMANENT) == []


def test_policies_ahead_of_ours_that_drop_are_reported():
    listing = """early (active)
  priority: -31000
  target: DROP
  ingress-zones: ANY
  egress-zones: HOST
late (active)
  priority: -100
  target: REJECT
  ingress-zones: ANY
  egress-zones: HOST
ruled
  priority: -32000
  target: CONTINUE
  ingress-zones: public
  egress-zones: HOST
  rich rules:
\trule family="ipv4" source address="10.0.0.0/8" drop
outbound
  priority: -32000
  target: DROP
  ingress-zones: HOST
  egress-zones: ANY
"""
    found = firewalld.policies_ahead(firewalld.policies(listing))
    assert len(found) == 2
    assert found[0].startswith("firewalld policy early (priority -31000, ahead of ours at -30000) has target DROP")
    assert "ruled" in found[1] and "10.0.0.0/8" in found[1]


def test_firewalld_is_the_backend_where_it_runs_and_no_blocker_then():
    facts = {"firewalld": {"active": True, "backend": "nftables"}, "iptables": {"present": True, "legacy_rules": 4},
             "nftables": {"present": True, "input_chains": [
                 {"table": "inet firewalld", "chain": "filter_INPUT", "prio": 10, "policy": "accept", "drops_all": True}]}}
    assert choose_backend(facts) == ("firewalld", "firewalld is running (its nftables backend)")
    assert spec_of("firewalld").blockers(facts) == []
    assert any("microseg_backend: firewalld" in text for text in spec_of("iptables").blockers(facts))
    # on firewalld's iptables backend our direct rules run in INPUT ahead of firewalld's REJECT
    facts["firewalld"]["backend"] = "iptables"
    facts["iptables"].update(variant="nf_tables", input={"nf_tables": {"ipv4": {"policy": "ACCEPT",
                                                                                "terminal": "-j REJECT"}}})
    assert spec_of("firewalld").blockers(facts) == []
    facts["iptables"]["input"]["legacy"] = {"ipv4": {"policy": "DROP", "terminal": None}}
    assert spec_of("firewalld").blockers(facts) == ["iptables (legacy, ipv4) INPUT has policy DROP: it also drops "
                                                    "what this plan admits"]


def test_ipset_names_keep_to_what_firewalld_takes_and_never_collide():
    assert firewalld.ipset_name("my.group_1", "ipv6") == "microseg-my-group-1-v6"
    colliding = plan()
    colliding["sets"] = {"a_b": {"ipv4": [], "ipv6": []}, "a.b": {"ipv4": [], "ipv6": []}}
    with pytest.raises(ValueError, match="same firewalld ipset name"):
        firewalld.objects(colliding)


def _icmpv6_rules(policy):
    """The policy's IPv6 rules that match ICMPv6, each as its text."""
    return [rule for rule in policy.split("  <rule")[1:] if 'family="ipv6"' in rule and
            ("icmp-type" in rule or "ipv6-icmp" in rule)]


def test_the_essential_icmpv6_rule_admits_exactly_the_named_types_not_the_protocol():
    """Issue 34 item 10: the MLD types have no name in firewalld before 2.1, and the whole ICMPv6
    protocol was accepted in their place, from anywhere, ahead of the zones' icmp-blocks."""
    policy = firewalld.objects(plan())[firewalld.POLICY_FILE]
    assert '<protocol value="ipv6-icmp"/>' not in policy and '<protocol value="icmp"/>' not in policy
    names = sorted(rule.split('name="')[1].split('"')[0] for rule in _icmpv6_rules(policy))
    assert names == sorted(["destination-unreachable", "packet-too-big", "time-exceeded", "parameter-problem",
                            "router-solicitation", "router-advertisement", "neighbour-solicitation",
                            "neighbour-advertisement"])
    assert all("<source" not in rule for rule in _icmpv6_rules(policy))
    v4 = sorted(rule.split('name="')[1].split('"')[0] for rule in policy.split("  <rule")[1:]
                if 'family="ipv4"' in rule and "icmp-type" in rule)
    assert v4 == ["destination-unreachable", "parameter-problem", "time-exceeded"]
    # echo request is not essential: no rule of ours admits it
    assert "echo-request" not in policy
    # a user's whole protocol stays a whole protocol: that is what the user asked for
    user = firewalld.objects(plan({"mode": "host", "whitelist": [{"proto": "icmpv6", "from": ["fd00::5"]}]}))
    assert '<protocol value="ipv6-icmp"/>' in user[firewalld.POLICY_FILE]


def test_on_firewalld_iptables_the_direct_rules_admit_the_same_types():
    from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.firewalld import direct as firewalld_direct
    _chains, rules = firewalld_direct.direct_config(firewalld.objects(plan()))
    v6 = [args for ipv, chain, _priority, args in rules if ipv == "ipv6" and chain == "MSEG-INPUT" and "icmp" in args]
    assert "-p ipv6-icmp -j ACCEPT" not in v6
    assert "-p ipv6-icmp -m icmp6 --icmpv6-type neighbour-solicitation -j ACCEPT" in v6
    assert all("--icmpv6-type" in args for args in v6) and len(v6) == 8
