# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.addresses import (
    looks_like_address,
    merge_networks,
    networks_overlap,
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


def test_networks_overlap():
    a = [parse_network("10.0.0.0/24", "x")]
    assert networks_overlap(a, [parse_network("10.0.0.7", "x")])
    assert not networks_overlap(a, [parse_network("10.0.1.7", "x")])
    assert not networks_overlap(a, [])
