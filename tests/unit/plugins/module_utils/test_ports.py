# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.errors import PlanError
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.ports import (
    format_ports,
    merge_ranges,
    parse_ports,
    port_of_listen_address,
    ports_from_strings,
    ranges_overlap,
)


@pytest.mark.parametrize("value, expected", [
    (22, [(22, 22)]),
    ("22", [(22, 22)]),
    ("30000-32767", [(30000, 32767)]),
    ("30000:32767", [(30000, 32767)]),
    (" 1 - 2 ", [(1, 2)]),
    ([443, 80], [(80, 80), (443, 443)]),
    ("80,443", [(80, 80), (443, 443)]),
    ([2379, 2380], [(2379, 2380)]),                 # adjacent ports merge
    (["10-20", "15-30", 31], [(10, 31)]),           # overlapping and adjacent
    ([8080, 8080], [(8080, 8080)]),                 # duplicates removed
    (1, [(1, 1)]),
    (65535, [(65535, 65535)]),
])
def test_parse_ports_accepts_and_merges(value, expected):
    assert parse_ports(value, "x") == expected


@pytest.mark.parametrize("value, fragment", [
    (0, "port 0 is out of range"),
    (70000, "port 70000 is out of range"),
    ("65536", "port 65536 is out of range"),
    ("abc", "'abc' is not a port"),
    ("20-10", "range '20-10' is reversed"),
    (True, "True is not a port"),
    (8.5, "8.5 is not a port"),
    ([], "empty port list"),
    ("1-2-3", "is not a port"),
])
def test_parse_ports_rejects_with_allowed_values(value, fragment):
    with pytest.raises(PlanError) as error:
        parse_ports(value, "microseg_whitelist[0].port")
    message = str(error.value)
    assert fragment in message
    assert message.startswith("microseg_whitelist[0].port")
    assert "1-65535" in message


def test_merge_is_order_independent():
    assert merge_ranges([(5, 6), (1, 2), (3, 4)]) == merge_ranges([(3, 4), (1, 2), (5, 6)]) == [(1, 6)]


@pytest.mark.parametrize("first, second, expected", [
    ([(1, 10)], [(10, 20)], True),
    ([(1, 10)], [(11, 20)], False),
    ([(1, 1), (50, 60)], [(20, 30), (55, 55)], True),
    ([], [(1, 65535)], False),
])
def test_ranges_overlap(first, second, expected):
    assert ranges_overlap(first, second) is expected
    pair = [first, second]
    pair.reverse()
    assert ranges_overlap(pair[0], pair[1]) is expected


def test_format_round_trip():
    ranges = [(22, 22), (2379, 2380)]
    assert format_ports(ranges) == ["22", "2379-2380"]
    assert format_ports(ranges, ":") == ["22", "2379:2380"]
    assert ports_from_strings(format_ports(ranges)) == ranges


@pytest.mark.parametrize("value, port", [
    (":4244", 4244), ("0.0.0.0:25000", 25000), ("[::]:19001", 19001), ("10.0.0.1:19101", 19101),
    ("6091", 6091), ('"6091"', 6091), (4799, 4799), ("", None), (None, None), (":0", None), ("host:70000", None),
    ("[::]", None),
])
def test_port_of_listen_address(value, port):
    assert port_of_listen_address(value) == port
