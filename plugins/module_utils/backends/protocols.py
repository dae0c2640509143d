# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The protocol names iptables-save and nft print, and their numbers.

Both tools print a protocol by a name of their own or from /etc/protocols, whichever they find,
and a node may have no /etc/protocols at all: a live rule is compared with a rendered one only
after every name has become its number (this table first, then the node's /etc/protocols).
"""

from __future__ import annotations

PRINTED_NUMBERS = {"ip": "0", "icmp": "1", "igmp": "2", "ipencap": "4", "ipip": "4", "tcp": "6", "udp": "17",
                   "dccp": "33", "gre": "47", "esp": "50", "ah": "51", "ipv6-icmp": "58", "icmpv6": "58",
                   "comp": "108", "sctp": "132", "udplite": "136"}


def number_of(name, protocol_numbers):
    """A printed protocol name (or number) -> its number as text, the name when unknown."""
    if name.isascii() and name.isdigit():
        return name
    return PRINTED_NUMBERS.get(name) or (protocol_numbers or {}).get(name) or name


def read_protocol_numbers(path="/etc/protocols"):
    """name -> number from the node's /etc/protocols (iptables-save and nft print names from it)."""
    numbers = {}
    try:
        with open(path) as handle:
            for line in handle:
                parts = line.split("#", 1)[0].split()
                if len(parts) >= 2 and parts[1].isdigit():
                    numbers[parts[0]] = parts[1]
                    for alias in parts[2:]:
                        numbers[alias] = parts[1]
    except (IOError, OSError):
        pass
    return numbers
