# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What detection and the backends both read of a node's packet filter: iptables' version and
variant, the rules that end INPUT, firewalld's netfilter backend."""
from __future__ import annotations

import pytest

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.netfilter import (
    choose_variant,
    firewalld_backend,
    is_terminal,
    parse_iptables_version,
)


@pytest.mark.parametrize("text, version, variant", [
    ("iptables v1.8.9 (nf_tables)\n", "1.8.9", "nf_tables"),
    ("iptables v1.8.7 (legacy)\n", "1.8.7", "legacy"),
    ("iptables v1.4.21\n", "1.4.21", "legacy"),
    ("", None, None),
])
def test_iptables_version(text, version, variant):
    assert parse_iptables_version(text) == {"version": version, "variant": variant}


@pytest.mark.parametrize("default, legacy, nft, variant, fragment", [
    ("nf_tables", 12, 0, "legacy", "only iptables-legacy holds rules"),
    ("legacy", 0, 7, "nf_tables", "only iptables-nft holds rules"),
    ("nf_tables", 0, 0, "nf_tables", "no rules yet"),
    ("legacy", 3, 4, "legacy", "both variants hold rules"),
])
def test_choose_variant(default, legacy, nft, variant, fragment):
    chosen, reason = choose_variant(default, legacy, nft)
    assert chosen == variant and fragment in reason


@pytest.mark.parametrize("spec, terminal", [
    ("-j REJECT --reject-with icmp-host-prohibited", True),
    ("-j DROP", True),
    ('-m comment --comment "default deny" -j DROP', True),
    ("-p tcp -j REJECT --reject-with tcp-reset", False),       # matches something: not every packet
    ("-i eth1 -j DROP", False),
    ("-j ACCEPT", False),
])
def test_terminal_rules(spec, terminal):
    assert is_terminal(spec) is terminal


def test_firewalld_backend_from_its_configuration():
    assert firewalld_backend("# comment\nFirewallBackend=iptables\n") == "iptables"
    assert firewalld_backend("DefaultZone=public\n") == "nftables"
    assert firewalld_backend(None) == "nftables"
