# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import netaddr
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.addresses import (
    looks_like_address,
    address_intervals,
    intervals_overlap,
    merge_networks,
    parse_network,
)
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.errors import PlanError


@pytest.mark.parametrize("text, expected", [
    ("10.0.0.0/8", "10.0.0.0/8"),
    ("192.0.2.7", "192.0.2.7/32"),
    ("fd00::/64", "fd00::/64"),
    ("2001:db8::1", "2001:db8::1/128"),
    (" 10.0.0.0/8 ", "10.0.0.0/8"),
    # IPv4-mapped IPv6 (issue 34 item 9): the packet is IPv4 on the wire, so is the rule
    ("::ffff:10.99.0.66", "10.99.0.66/32"),
    ("::FFFF:10.99.0.66/128", "10.99.0.66/32"),
    ("::ffff:a63:42", "10.99.0.66/32"),
    ("::ffff:10.0.0.0/104", "10.0.0.0/8"),
    ("::ffff:0:0/96", "0.0.0.0/0"),
    # not mapped: a shorter prefix holding the mapped range, and the IPv4-compatible form
    ("::/80", "::/80"),
    ("::10.99.0.66", "::10.99.0.66/128"),
    ("::1:ffff:a63:42", "::1:ffff:a63:42/128"),
])
def test_parse_network_accepts(text, expected):
    assert str(parse_network(text, "x")) == expected


@pytest.mark.parametrize("text, fragment", [
    ("10.0.0.0/33", "'10.0.0.0/33' is not a valid address or CIDR"),
    ("fd00::/129", "'fd00::/129' is not a valid address or CIDR"),
    ("300.1.1.1", "is not a valid address or CIDR"),
    ("10.1", "is not a valid address or CIDR"),
    ("10.0.0.1/24", "has host bits set; did you mean 10.0.0.0/24?"),
    (42, "42 is not an address"),
])
def test_parse_network_rejects(text, fragment):
    with pytest.raises(PlanError) as error:
        parse_network(text, "microseg_trusted_cidrs[0]")
    assert fragment in str(error.value)
    assert str(error.value).startswith("microseg_trusted_cidrs[0]")


@pytest.mark.parametrize("text, expected", [
    ("10.0.0.0/33", True), ("fd00::1", True), ("192.0.2.1", True),
    ("kube_node", False), ("db-1", False), ("cafe", False), ("beef.example", False),
])
def test_looks_like_address(text, expected):
    assert looks_like_address(text) is expected


def test_merge_networks_splits_families_and_merges():
    networks = [parse_network(text, "x") for text in
                ("10.0.0.1", "10.0.0.0", "10.0.0.2/31", "fd00::1", "10.0.0.0/30", "fd00::/127")]
    assert merge_networks(networks) == {"ipv4": ["10.0.0.0/30"], "ipv6": ["fd00::/127"]}


def networks_overlap(first, second):
    return intervals_overlap(address_intervals(first), address_intervals(second))


def test_networks_overlap():
    a = [parse_network("10.0.0.0/24", "x")]
    assert networks_overlap(a, [parse_network("10.0.0.7", "x")])
    assert not networks_overlap(a, [parse_network("10.0.1.7", "x")])
    assert not networks_overlap(a, [])


def test_networks_overlap_across_families_and_touching_ranges():
    v4 = [parse_network("10.0.0.0/31", "x"), parse_network("10.0.0.4/31", "x")]
    assert not networks_overlap(v4, [parse_network("10.0.0.2/31", "x")])      # the gap between them
    assert networks_overlap(v4, [parse_network("10.0.0.5", "x")])
    assert not networks_overlap(v4, [parse_network("::a00:0/127", "x")])       # same integers, other family
    assert networks_overlap([parse_network("::/0", "x")], [parse_network("fd00::1", "x")])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 255), st.integers(24, 32)), max_size=8),
       st.lists(st.tuples(st.integers(0, 255), st.integers(24, 32)), max_size=8))
def test_networks_overlap_agrees_with_netaddr(first, second):
    def networks(items):
        return [netaddr.IPNetwork("10.0.0.%d/%d" % (host, prefix)).cidr for host, prefix in items]
    expected = bool(netaddr.IPSet(networks(first)) & netaddr.IPSet(networks(second)))
    assert networks_overlap(networks(first), networks(second)) is expected


def test_an_ipv4_mapped_source_in_a_user_list_is_planned_as_ipv4():
    """Issue 34 item 9: ::ffff:10.99.0.66 went into the IPv6 set, matched nothing in the kernel,
    and the report still said the blacklist wins."""
    from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.iptables import render as iptables
    from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.plan import compile_plan
    inventory = {"hosts": {"n1": {"addresses": ["10.99.0.11", "fd00::11"]}}, "groups": {"all": ["n1"]}}
    plan = compile_plan({"name": "n1"}, inventory, {
        "mode": "host", "management_cidrs": ["::ffff:10.99.0.0/120"],
        "whitelist": [{"port": 8080, "from": ["10.99.0.66"]}], "blacklist": [{"from": ["::ffff:10.99.0.66"]}]})
    black = [rule for rule in plan["rules"] if rule["phase"] == "blacklist"][0]
    blacklisted = plan["sets"][black["from"][0]]
    assert blacklisted["ipv4"] == ["10.99.0.66/32"] and blacklisted["ipv6"] == []
    assert black["families"] == ["ipv4"]
    assert plan["sets"]["management"]["ipv4"] == ["10.99.0.0/24"]
    assert [c["whitelist"] for c in plan["conflicts"] if "the blacklist wins" in c["text"]] == [["microseg_whitelist[0]"]]
    set_name = iptables.set_name(black["from"][0], "ipv4")
    assert "add %s 10.99.0.66/32" % set_name in iptables.ipsets_file(plan)
    assert any("--match-set %s src" % set_name in rule and rule.endswith("-j DROP")
               for rule in iptables.render_rules(plan, "ipv4"))
