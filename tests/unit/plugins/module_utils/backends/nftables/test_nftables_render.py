# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""nftables backend, pure part: rendering, normalising live listings, refusing foreign statements."""
from __future__ import annotations

import pytest

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.nftables import render as nftables
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.plan import compile_plan

INVENTORY = {"hosts": {"cp1": {"addresses": ["10.89.0.11", "fd00::11"]}, "w1": {"addresses": ["10.89.0.21"]}},
             "groups": {"kube_control_plane": ["cp1"], "kube_node": ["w1"]}}


def plan(policy=None, features=("flannel_vxlan",)):
    return compile_plan({"name": "cp1", "features": list(features)}, INVENTORY, policy or {"mode": "host"})


def test_rules_per_family_and_set():
    rules = nftables.render_rules(plan())
    assert rules[:6] == ['iif "lo" counter accept comment "microseg: loopback"',
                         'icmp type { destination-unreachable, time-exceeded, parameter-problem } counter accept '
                         'comment "microseg: icmp_essential"',
                         'icmpv6 type { destination-unreachable, packet-too-big, time-exceeded, parameter-problem, '
                         'mld-listener-query, mld-listener-report, mld-listener-done, nd-router-solicit, '
                         'nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert, mld2-listener-report } counter '
                         'accept comment "microseg: icmp_essential"',
                         'tcp dport 22 counter accept comment "microseg: management_ssh"',
                         'ct state established,related counter accept comment "microseg: established"',
                         'ct status dnat counter accept comment "microseg: dnat"']
    assert 'tcp dport 2379-2380 ip saddr @control_plane_v4 counter accept comment "microseg: etcd_client,etcd_peer"' in rules
    assert 'tcp dport 2379-2380 ip6 saddr @control_plane_v6 counter accept comment "microseg: etcd_client,etcd_peer"' in rules
    assert 'tcp dport { 6443, 30000-32767 } counter accept comment "microseg: k8s_apiserver,k8s_nodeport_tcp"' in rules
    assert 'tcp dport { 10257, 10259 } ip saddr @self_v4 counter accept comment "microseg: k8s_scheduler,k8s_controller_manager"' in rules
    assert rules[-1] == 'counter drop comment "microseg: block everything else"'


def test_states_and_portless_protocols():
    alert = nftables.render_rules(plan({"mode": "host", "state": "alert", "whitelist": [{"proto": "ipip"}]}))
    assert alert[-2:] == ['limit rate 5/minute log prefix "microseg alert: " comment "microseg: alert everything else"',
                          'counter return comment "microseg: alert everything else"']
    # alert and monitor accept nothing: what the plan admits is passed on to the host's own rules
    assert 'meta nfproto ipv4 meta l4proto 4 counter return comment "microseg: microseg_whitelist[0]"' in alert
    assert not [rule for rule in alert if rule.endswith("accept") or " accept " in rule]
    monitor = nftables.render_rules(plan({"mode": "host", "state": "monitor"}))
    assert monitor[-1] == 'counter return comment "microseg: monitor everything else"'
    assert not [rule for rule in monitor if " accept " in rule]


def test_table_and_file():
    table = nftables.render_table(plan())
    assert table.startswith("table inet microseg {")
    assert "\t\ttype filter hook input priority filter + 10; policy accept;" in table
    assert "\t\telements = { 10.89.0.11/32 }" in table
    text = nftables.ruleset_file(plan())
    assert text.splitlines()[1:3] == ["table inet microseg", "delete table inet microseg"]
    assert nftables.table_body(text) == table
    empty = compile_plan({"name": "x"}, {"hosts": {"x": {"addresses": ["10.0.0.1"]}}, "groups": {}}, {})
    assert nftables.table_body(nftables.ruleset_file(empty)) is None


def test_normalise_a_live_listing():
    live = ('table inet microseg {\n\tset a_v4 {\n\t\ttype ipv4_addr\n\t\tflags interval\n'
            '\t\telements = { 10.0.0.5, 10.0.0.0/24,\n\t\t\t     10.2.0.0/31 }\n\t}\n'
            '\tchain input {\n\t\tmeta l4proto ipencap counter packets 12 bytes 400 accept\n\t}\n}\n')
    desired = ('table inet microseg {\n set a_v4 {\n type ipv4_addr\n flags interval\n'
               ' elements = { 10.0.0.0/24, 10.0.0.5/32, 10.2.0.0/31 }\n }\n'
               ' chain input {\n meta l4proto 4 counter accept\n }\n}\n')
    assert nftables.normalise(live, {"ipencap": "4"}) == nftables.normalise(desired, {"ipencap": "4"})
    # every protocol name compares as its number, whatever name nft prints (its own or /etc/protocols')
    assert nftables.normalise("meta l4proto esp accept") == ["meta l4proto 50 accept"]
    assert nftables.normalise("meta l4proto dccp accept") == nftables.normalise("meta l4proto 33 accept")
    assert nftables.normalise("meta l4proto udplite accept") == nftables.normalise("meta l4proto 136 accept")


@pytest.mark.parametrize("text, ok", [
    (nftables.ruleset_file(plan()), True),
    ("# nothing\n", True),
    ("flush ruleset\n", False),
    ("table ip kube-proxy {\n}\n", False),
    ("delete table ip filter\n", False),
    ("table inet microseg {\n chain x {\n }\n}\nadd rule ip filter INPUT drop\n", False),
    ("table inet microseg {\n", False),
])
def test_check_ruleset_only_lets_our_table_through(text, ok):
    if ok:
        nftables.check_ruleset(text)
    else:
        with pytest.raises(ValueError):
            nftables.check_ruleset(text)
