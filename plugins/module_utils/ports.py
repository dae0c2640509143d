# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Port specs: parse what users and configs write, merge, print.

A port set is a sorted list of (low, high) tuples with no overlap and no adjacency,
so two equal sets always compare (and serialise) equal.
"""

from __future__ import annotations

import re

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.errors import PlanError

PORT_MIN = 1
PORT_MAX = 65535
ALLOWED = 'a port 1-65535, a range "LOW-HIGH" with LOW <= HIGH, or a list of those'

# ASCII digits only: int() would also take other scripts' digits ("٣٣" is 33).
_RANGE = re.compile(r"^\s*([0-9]+)\s*(?:[-:]\s*([0-9]+)\s*)?$", re.ASCII)


def _check_port(number, value, where):
    if not PORT_MIN <= number <= PORT_MAX:
        within = "" if str(number) == str(value).strip() else " (in %r)" % (value,)
        raise PlanError("%s: port %s is out of range%s; allowed: %s" % (where, number, within, ALLOWED))
    return number


def parse_port_item(value, where):
    """One int or "LOW-HIGH" string -> (low, high)."""
    if isinstance(value, bool):
        raise PlanError("%s: %r is not a port; allowed: %s" % (where, value, ALLOWED))
    if isinstance(value, int):
        return (_check_port(value, value, where), value)
    if isinstance(value, str):
        match = _RANGE.match(value)
        if match:
            low = _check_port(int(match.group(1)), value, where)
            high = _check_port(int(match.group(2) or match.group(1)), value, where)
            if low > high:
                raise PlanError("%s: range %r is reversed (%d > %d); allowed: %s" % (where, value, low, high, ALLOWED))
            return (low, high)
    raise PlanError("%s: %r is not a port; allowed: %s" % (where, value, ALLOWED))


def parse_ports(value, where):
    """An int, a range string, a comma-separated string or a list of those -> merged port set."""
    if isinstance(value, (list, tuple)):
        items = list(value)
    elif isinstance(value, str) and "," in value:
        items = value.split(",")
    else:
        items = [value]
    if not items:
        raise PlanError("%s: empty port list; allowed: %s" % (where, ALLOWED))
    return merge_ranges(parse_port_item(item, where) for item in items)


def is_ascii_number(value):
    """True for text made of ASCII digits only (str.isdigit also takes other scripts' digits)."""
    return isinstance(value, str) and bool(re.match(r"^[0-9]+$", value.strip(), re.ASCII))


def merge_ranges(ranges):
    """Sort, then join overlapping and adjacent ranges."""
    merged = []
    for low, high in sorted(ranges):
        if merged and low <= merged[-1][1] + 1:
            if high > merged[-1][1]:
                merged[-1] = (merged[-1][0], high)
        else:
            merged.append((low, high))
    return merged


def ranges_overlap(first, second):
    """True when two merged port sets share at least one port."""
    i = j = 0
    while i < len(first) and j < len(second):
        if first[i][1] < second[j][0]:
            i += 1
        elif second[j][1] < first[i][0]:
            j += 1
        else:
            return True
    return False


def format_range(port_range, separator="-"):
    low, high = port_range
    return str(low) if low == high else "%d%s%d" % (low, separator, high)


def format_ports(ranges, separator="-"):
    """Port set -> list of strings such as ["2379-2380", "6443"]."""
    return [format_range(item, separator) for item in ranges]


def ports_from_strings(strings):
    """Inverse of format_ports, for plans read back from JSON."""
    return merge_ranges(parse_port_item(text, "plan") for text in strings)


def port_of_listen_address(value):
    """A listen address or a bare port as programs' options hold them - ':4244', '0.0.0.0:25000',
    '[::]:19001', '"6091"' - -> the port (1-65535), or None when there is none."""
    text = str(value or "").strip().strip("'\"").rsplit(":", 1)[-1]
    return int(text) if text.isdigit() and 0 < int(text) < 65536 else None
