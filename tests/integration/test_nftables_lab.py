# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""host_firewall with the nftables backend on a lab node: our table only, next to kube-proxy's
nft table and iptables-nft rules that must stay untouched; real TCP from a peer."""
from __future__ import annotations

import json

import pytest

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.nftables import render as nftables
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.plan import compile_plan

# What kube-proxy in nftables mode leaves (trimmed): its own table with a base chain on input.
KUBE_PROXY_TABLE = """table ip kube-proxy {
\tcomment "rules for kube-proxy"
\tchain filter-input {
\t\ttype filter hook input priority -110; policy accept;
\t\tct state new jump firewall-check
\t}
\tchain firewall-check {
\t\tip daddr 10.96.0.99 tcp dport 8080 drop
\t}
}
"""
IPTABLES_NFT = """*filter
:KUBE-FIREWALL - [0:0]
-A INPUT -j KUBE-FIREWALL
-A KUBE-FIREWALL ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP
COMMIT
"""


def address(node):
    return node.sh("ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1").stdout.strip()


def reachable(peer, ip, port):
    return peer.sh("nc -z -w 2 %s %d" % (ip, port), check=False).returncode == 0


@pytest.fixture(scope="module")
def nodes(lab_nodes):
    node, peer = lab_nodes("nft-fw"), lab_nodes("nft-peer")
    node.write("/tmp/kube-proxy.nft", KUBE_PROXY_TABLE)
    node.write("/tmp/iptables.rules", IPTABLES_NFT)
    node.sh("nft -f /tmp/kube-proxy.nft && iptables-nft-restore < /tmp/iptables.rules")
    for port in (6443, 2379, 9999):
        node.sh("setsid nc -l -k -p %d >/dev/null 2>&1 < /dev/null &" % port)
    ip = address(node)
    for port in (6443, 2379, 9999):
        assert reachable(peer, ip, port), "listener %d not reachable before the firewall" % port
    return node, peer, ip


def plan(node, peer, ip, policy):
    inventory = {"hosts": {node.name: {"addresses": [ip]}, peer.name: {"addresses": [address(peer)]}},
                 "groups": {"kube_control_plane": [node.name], "kube_node": [peer.name]}}
    return compile_plan({"name": node.name, "features": ["flannel_vxlan"]}, inventory, policy)


def apply(node, the_plan=None, check=False, state="present"):
    args = {"backend": "nftables", "state": state}
    if the_plan is not None:
        args["ruleset"] = {"microseg.nft": nftables.ruleset_file(the_plan)}
    rc, result = node.run_module("host_firewall", json.dumps(args), check=check)
    assert rc == 0, result
    return result


def foreign(node):
    return (node.sh("nft list table ip kube-proxy").stdout, node.sh("iptables-nft-save -t filter | grep -v '^#'").stdout)


def test_nftables_backend_end_to_end(nodes):
    node, peer, ip = nodes
    theirs = foreign(node)
    block = plan(node, peer, ip, {"mode": "host", "state": "block"})

    checked = apply(node, block, check=True)
    assert checked["changed"] is True and checked["actions"] == ["create table inet microseg"]
    assert node.sh("nft list table inet microseg", check=False).returncode != 0       # check mode: nothing

    assert apply(node, block)["changed"] is True
    assert foreign(node) == theirs                                                   # kube-proxy's untouched
    assert apply(node, block)["changed"] is False                                    # idempotent
    assert reachable(peer, ip, 6443)
    assert not reachable(peer, ip, 9999)                                             # not admitted: dropped
    assert not reachable(peer, ip, 2379)                                             # control plane only

    service = plan(node, peer, ip, {"mode": "service", "state": "block"})
    assert apply(node, service)["actions"] == ["replace table inet microseg"]
    assert reachable(peer, ip, 9999) and not reachable(peer, ip, 2379)

    blacklisted = plan(node, peer, ip, {"mode": "host", "blacklist": [{"from": [address(peer)]}]})
    apply(node, blacklisted)
    assert not reachable(peer, ip, 6443)

    monitor = plan(node, peer, ip, {"mode": "host", "state": "monitor"})
    apply(node, monitor)
    assert reachable(peer, ip, 9999) and reachable(peer, ip, 2379)
    assert "counter packets" in node.sh("nft list chain inet microseg input").stdout

    tampered = node.sh("nft add rule inet microseg input tcp dport 9999 accept")
    assert tampered.returncode == 0 and apply(node, monitor)["changed"] is True       # a change by hand is undone

    assert apply(node, state="absent", check=True)["changed"] is True
    assert apply(node, state="absent")["changed"] is True
    assert node.sh("nft list table inet microseg", check=False).returncode != 0
    assert foreign(node) == theirs
    assert apply(node, state="absent")["changed"] is False
    assert reachable(peer, ip, 9999)


def test_a_ruleset_that_names_another_table_is_refused(nodes):
    node, _peer, _ip = nodes
    rc, result = node.run_module("host_firewall", json.dumps(
        {"backend": "nftables", "ruleset": {"microseg.nft": "flush ruleset\ntable inet microseg {\n}\n"}}))
    assert rc != 0 and "'flush ruleset' is not allowed" in result["msg"]
    assert "kube-proxy" in node.sh("nft list tables").stdout
