# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Addresses and CIDRs: strict parsing and merging (controller side, needs netaddr)."""

from __future__ import annotations

import bisect
import re

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.errors import PlanError

try:
    import netaddr
    HAS_NETADDR = True
except ImportError:  # pragma: no cover - exercised only where netaddr is missing
    netaddr = None
    HAS_NETADDR = False

FAMILIES = ("ipv4", "ipv6")
ALLOWED = "an IPv4/IPv6 address or a CIDR such as 10.0.0.0/8 or fd00::/64 (no host bits set)"

# Text shaped like an address is meant as one, so "10.0.0.0/33" is reported as a bad CIDR rather
# than as an unknown group name: IPv4 is digits and dots; IPv6 has a colon (a DNS name never
# does). A name made of hex letters and dots ("cafe.de", "add.be") is a name, not an address.
_IPV4_SHAPED = re.compile(r"^[0-9.]+(/[0-9]*)?$", re.ASCII)
_IPV6_SHAPED = re.compile(r"^[0-9a-fA-F.:]+(/[0-9]*)?$", re.ASCII)


def require_netaddr():
    if not HAS_NETADDR:
        raise PlanError("the python library 'netaddr' is required on the controller: pip install netaddr")


def looks_like_address(text):
    if ":" in text:
        return bool(_IPV6_SHAPED.match(text))
    return "." in text and bool(_IPV4_SHAPED.match(text))


# IPv4-mapped IPv6 addresses (RFC 4291 2.5.5.2): how a dual-stack socket shows an IPv4 peer
# (ss, logs, SSH_CLIENT on some systems). On the wire the packet is IPv4, so an IPv6 rule with
# ::ffff:10.99.0.66 would match nothing; the address is taken as the IPv4 address it carries.
_IPV4_MAPPED = (0xFFFF << 32, 96)


def _ipv4_of_mapped(network):
    """An IPv6 network inside ::ffff:0:0/96 -> the IPv4 network it maps; anything else unchanged
    (a shorter IPv6 prefix that merely contains the mapped range stays IPv6)."""
    if network.version != 6 or network.prefixlen < _IPV4_MAPPED[1] or \
            network.first >> 32 != _IPV4_MAPPED[0] >> 32:
        return network
    return netaddr.IPNetwork("%s/%d" % (netaddr.IPAddress(network.first & 0xFFFFFFFF, 4),
                                        network.prefixlen - _IPV4_MAPPED[1]))


def parse_network(value, where):
    """Text -> netaddr.IPNetwork, rejecting bad prefixes and host bits. An IPv4-mapped IPv6
    address or network (::ffff:10.99.0.66, ::ffff:10.0.0.0/104) is taken as its IPv4 form."""
    require_netaddr()
    if not isinstance(value, str):
        raise PlanError("%s: %r is not an address; allowed: %s" % (where, value, ALLOWED))
    text = value.strip()
    try:
        network = netaddr.IPNetwork(text)
    except (netaddr.AddrFormatError, ValueError, TypeError):
        raise PlanError("%s: %r is not a valid address or CIDR; allowed: %s" % (where, value, ALLOWED))
    if network.ip != network.network:
        raise PlanError("%s: %r has host bits set; did you mean %s/%d? allowed: %s"
                        % (where, value, network.network, network.prefixlen, ALLOWED))
    return _ipv4_of_mapped(network)


def family_of(network):
    return "ipv4" if network.version == 4 else "ipv6"


def merge_networks(networks):
    """Networks -> {"ipv4": [...], "ipv6": [...]} of merged CIDR strings, sorted."""
    require_netaddr()
    by_family = {"ipv4": [], "ipv6": []}
    for network in networks:
        by_family[family_of(network)].append(network)
    return dict((family, [str(net) for net in netaddr.cidr_merge(nets)]) for family, nets in by_family.items())


def address_intervals(networks):
    """Networks -> sorted, merged (version, first, last) integer intervals, for overlap tests
    that stay cheap when one side holds thousands of hosts."""
    spans = sorted((network.version, network.first, network.last) for network in networks)
    merged = []
    for version, first, last in spans:
        if merged and merged[-1][0] == version and first <= merged[-1][2] + 1:
            if last > merged[-1][2]:
                merged[-1] = (version, merged[-1][1], last)
        else:
            merged.append((version, first, last))
    return merged


def intervals_overlap(first, second):
    """True when two lists made by address_intervals share an address: each interval of the
    shorter list is looked up in the longer one (binary search)."""
    small, large = (first, second) if len(first) <= len(second) else (second, first)
    for version, low, high in small:
        # the last interval of the large list starting at or before `high`
        index = bisect.bisect_right(large, (version, high, float("inf"))) - 1
        if index >= 0 and large[index][0] == version and large[index][2] >= low:
            return True
    return False
