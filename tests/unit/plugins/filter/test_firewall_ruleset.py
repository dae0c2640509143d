# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The filters over the backends' registry: firewall_ruleset (one call renders a backend's files),
backend_packages and firewall_backends; none names a backend, each checks the name it is given."""
from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.microseg.cluster_firewall.plugins.filter import firewall_ruleset as filters
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends import registry
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.iptables import render as iptables
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.nftables import render as nftables
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.plan import compile_plan

INVENTORY = {"hosts": {"cp1": {"addresses": ["192.0.2.11"]}, "w1": {"addresses": ["192.0.2.21"]}},
             "groups": {"kube_control_plane": ["cp1"], "kube_node": ["w1"]}}
PLAN = compile_plan({"name": "cp1"}, INVENTORY, {"mode": "host"})


def test_registered_under_their_names():
    assert set(filters.FilterModule().filters()) == {"firewall_ruleset", "backend_packages", "firewall_backends"}


@pytest.mark.parametrize("name", registry.NAMES)
def test_one_call_gives_every_file_of_the_backend(name):
    files = filters.firewall_ruleset(PLAN, name)
    assert sorted(files) == sorted(registry.spec_of(name).files)
    assert all(isinstance(text, str) and text for text in files.values())
    assert all(filters.firewall_ruleset(PLAN, name, file) == text for file, text in files.items())


def test_the_files_are_the_renderers_texts():
    assert filters.firewall_ruleset(PLAN, "iptables") == {
        "ipsets": iptables.ipsets_file(PLAN), "ipv4.rules": iptables.ruleset_file(PLAN, "ipv4"),
        "ipv6.rules": iptables.ruleset_file(PLAN, "ipv6")}
    assert filters.firewall_ruleset(PLAN, "nftables") == {"microseg.nft": nftables.ruleset_file(PLAN)}


def test_a_bad_plan_backend_or_file_is_a_filter_error_naming_the_allowed_ones():
    with pytest.raises(AnsibleFilterError, match="expects a plan"):
        filters.firewall_ruleset({}, "iptables")
    with pytest.raises(AnsibleFilterError, match="backend 'ufw' is not known; allowed: firewalld, iptables, nftables"):
        filters.firewall_ruleset(PLAN, "ufw")
    with pytest.raises(AnsibleFilterError, match="'ipv4' is not a file of the iptables backend; allowed: ipsets, "
                                                 "ipv4.rules, ipv6.rules"):
        filters.firewall_ruleset(PLAN, "iptables", "ipv4")


def test_packages_and_names_come_from_the_registry():
    assert filters.backend_packages("nftables") == {"nft": "nftables"}
    assert filters.backend_packages("iptables") == {"ipset": "ipset", "iptables-restore": "iptables",
                                                    "ip6tables-restore": "iptables"}
    assert filters.firewall_backends("all") == list(registry.NAMES)
    assert filters.firewall_backends("default") == [registry.DEFAULT]
    assert filters.firewall_backends("firewalld") == ["firewalld"]
    with pytest.raises(AnsibleFilterError, match="backend_packages: backend 'pf' is not known"):
        filters.backend_packages("pf")
