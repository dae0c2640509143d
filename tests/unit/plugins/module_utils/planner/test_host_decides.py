# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a plan may change on a node (issue 34, items 2, 4, 10, 11): essential ICMP comes before
the blacklist; monitor and alert accept nothing (they only count or log); the IPv6 SSH fallback
of IPv4-only management sources passes SSH on to the host's own firewall instead of opening it."""
from __future__ import annotations

import pytest

from ansible_collections.microseg.cluster_firewall.plugins.module_utils import catalog
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.firewalld import render as firewalld
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.iptables import render as iptables
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.nftables import render as nftables
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.plan import compile_plan

INVENTORY = {
    "hosts": {"cp1": {"addresses": ["192.0.2.11", "2001:db8::11"]}, "w1": {"addresses": ["192.0.2.21", "2001:db8::21"]}},
    "groups": {"kube_control_plane": ["cp1"], "kube_node": ["w1"], "all": ["cp1", "w1"]},
}
# IPv4-only management sources on a dual-stack node: IPv6 has none
DUAL_STACK_V4_MANAGEMENT = {"name": "cp1", "features": ["flannel_vxlan"], "controller_address": "198.51.100.250"}


def plan(policy, node=None):
    return compile_plan(dict(node or DUAL_STACK_V4_MANAGEMENT), INVENTORY, policy)


# ------------------------------------------------------------------ item 2: essential ICMP first


@pytest.mark.parametrize("blacklist", [{"proto": "icmpv6"}, {"proto": "icmp"}, {"from": ["2001:db8::21"]},
                                       {"proto": "icmpv6", "from": ["2001:db8::/32"]}])
def test_essential_icmp_comes_before_any_blacklist(blacklist):
    result = plan({"mode": "host", "blacklist": [blacklist]})
    order = [(rule["phase"], rule["proto"], tuple(rule["icmp_types"])) for rule in result["rules"]]
    first_black = [phase for phase, _proto, _types in order].index("blacklist")
    for family, proto in (("ipv4", "icmp"), ("ipv6", "icmpv6")):
        essential = order.index(("base", proto, catalog.ICMP_ESSENTIAL[family]))
        assert essential < first_black, order


def test_an_icmp_blacklist_is_reported_to_leave_the_essential_types():
    result = plan({"mode": "host", "blacklist": [{"proto": "icmpv6"}]})
    conflicts = [c for c in result["conflicts"] if c["whitelist"] == ["icmp_essential"]]
    assert len(conflicts) == 1
    assert conflicts[0]["blacklist"] == ["microseg_blacklist[0]"]
    assert "essential ICMP comes first" in conflicts[0]["text"] and "135" in conflicts[0]["text"]
    assert "neighbour discovery" in conflicts[0]["text"]
    # the blacklist still drops ICMPv6 (echo request and the rest): it stays, after the essential types
    black = [rule for rule in result["rules"] if rule["phase"] == "blacklist"]
    assert [(rule["proto"], rule["action"], rule["icmp_types"]) for rule in black] == [("icmpv6", "drop", [])]
    # a blacklist of another protocol is not reported
    assert not [c for c in plan({"mode": "host", "blacklist": [{"port": 23}]})["conflicts"]
                if c["whitelist"] == ["icmp_essential"]]


def test_rendered_rules_put_the_essential_icmpv6_types_ahead_of_an_icmpv6_blacklist():
    result = plan({"mode": "host", "blacklist": [{"proto": "icmpv6"}]})
    v6 = iptables.render_rules(result, "ipv6")
    drop = v6.index('-p ipv6-icmp -m comment --comment "microseg: microseg_blacklist[0]" -j DROP')
    neighbour = v6.index('-p ipv6-icmp -m icmp6 --icmpv6-type 135 -m comment --comment "microseg: icmp_essential" '
                         '-j ACCEPT')
    assert neighbour < drop
    nft = nftables.render_rules(result)
    assert [index for index, rule in enumerate(nft) if "nd-neighbor-solicit" in rule][0] < \
        [index for index, rule in enumerate(nft) if "microseg_blacklist[0]" in rule][0]


# ------------------------------------------------------------------ items 4 and 11: monitor, alert, fallback

POLICIES = [
    {"mode": "host", "whitelist": [{"port": 8080, "from": ["2001:db8::21", "192.0.2.21"]}]},
    {"mode": "service", "whitelist": [{"port": 8080, "from": ["2001:db8::21"]}], "blacklist": [{"port": 23}]},
    {"mode": "host", "trust_pod_network": True, "blacklist": [{"from": ["203.0.113.9"]}], "blacklist_state": "monitor"},
]


@pytest.mark.parametrize("state", ["monitor", "alert"])
@pytest.mark.parametrize("policy", POLICIES)
def test_monitor_and_alert_accept_nothing_on_any_backend(state, policy):
    result = plan(dict(policy, state=state), node=dict(DUAL_STACK_V4_MANAGEMENT, pod_cidrs=["10.244.0.0/16"]))
    assert not [rule for rule in result["rules"] if rule["action"] == "accept"]
    # what block would admit is passed on (counted by its rule), not dropped and not accepted
    assert [rule for rule in result["rules"] if rule["phase"] == "management" and rule["action"] == "return"]
    for family in ("ipv4", "ipv6"):
        assert not [rule for rule in iptables.render_rules(result, family) if "-j ACCEPT" in rule]
    assert not [rule for rule in nftables.render_rules(result) if " accept" in rule]
    # firewalld: our policy admits nothing, so firewalld's zones decide as before
    policy_text = firewalld.objects(result)[firewalld.POLICY_FILE]
    assert "<rule" not in policy_text and "<accept/>" not in policy_text


def test_block_still_accepts_what_the_plan_admits():
    result = plan({"mode": "host", "whitelist": [{"port": 8080, "from": ["2001:db8::21"]}]})
    assert [rule for rule in result["rules"] if rule["phase"] == "whitelist" and rule["action"] == "accept"]
    assert "<accept/>" in firewalld.objects(result)[firewalld.POLICY_FILE]


@pytest.mark.parametrize("state", ["monitor", "alert", "block"])
def test_the_ipv6_ssh_fallback_is_passed_on_never_opened(state):
    result = plan({"mode": "host", "state": state, "whitelist": [{"port": 8080, "from": ["192.0.2.21"]}]})
    management = [rule for rule in result["rules"] if rule["phase"] == "management"]
    fallback = [rule for rule in management if rule["from"] == []]
    assert [(rule["families"], rule["ports"], rule["action"]) for rule in fallback] == [(["ipv6"], ["22"], "return")]
    assert any("passed on to the host's own firewall" in warning for warning in result["warnings"])
    # iptables: RETURN, so ufw's chains (after our jump) and the user's rules still decide IPv6 SSH
    v6 = iptables.render_rules(result, "ipv6")
    assert '-p tcp -m tcp --dport 22 -m comment --comment "microseg: management_ssh" -j RETURN' in v6
    assert not [rule for rule in v6 if "--dport 22 " in rule and "-j ACCEPT" in rule and "--match-set" not in rule]
    # firewalld: no rule of our policy admits port 22 from any IPv6 source
    policy_text = firewalld.objects(result)[firewalld.POLICY_FILE]
    assert '<port port="22" protocol="tcp"/>\n    <accept/>' not in policy_text.replace(
        '<source ipset="microseg-management-v4"/>\n    <port port="22"', "")


def test_a_blacklist_overlapping_the_fallback_is_said_to_be_left_to_the_host():
    result = plan({"mode": "host", "whitelist": [{"port": 8080, "from": ["192.0.2.21"]}],
                   "blacklist": [{"from": ["2001:db8::bad"]}]})
    texts = [c["text"] for c in result["conflicts"] if c["whitelist"] == ["management_ssh"]]
    assert len(texts) == 1 and "passes on to the host's own firewall" in texts[0]
    # an IPv4 blacklist entry does not meet the IPv6 fallback
    v4 = plan({"mode": "host", "whitelist": [{"port": 8080, "from": ["192.0.2.21"]}], "management_cidrs": ["10.0.0.0/8"],
               "blacklist": [{"from": ["203.0.113.9"]}]})
    assert not [c for c in v4["conflicts"] if c["whitelist"] == ["management_ssh"]]
