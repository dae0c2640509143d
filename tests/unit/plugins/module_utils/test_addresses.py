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
