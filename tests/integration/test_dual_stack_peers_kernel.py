# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A dual-stack kubespray cluster: the nodes' `ip6` (and `access_ip6`) are cluster peers in IPv6
(issue 34, item 5). The plan is made from kubespray's host variables as the inventory gives them
(cluster_inventory's code), rendered by each backend and loaded into a node namespace; a peer
namespace on a veth pair holds a cluster node's IPv6 address and an address of no node. The
kubelet port answers the cluster node (a reset: nothing listens, but the packet got through)
and drops the other. Packets go only between the two namespaces."""
from __future__ import annotations

import os
import subprocess

import pytest

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.iptables import render as iptables
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.nftables import render as nftables
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.inventory import build_inventory
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.plan import compile_plan

from conftest import require_lab, sh

NODE6, PEER6, STRANGER6 = "fd00:77::2", "fd00:77::1", "fd00:77::99"
# kubespray's inventory/sample/inventory.ini host lines, with the IPv6 variables of a dual-stack
# cluster (roles/network_facts reads ip6 and access_ip6).
HOSTVARS = {"node1": {"ansible_host": "203.0.113.1", "ip": "10.77.0.1", "ip6": PEER6},
            "node2": {"ansible_host": "203.0.113.2", "ip": "10.77.0.2", "ip6": NODE6}}
GROUPS = {"all": ["node1", "node2"], "kube_control_plane": ["node1"], "etcd": ["node1"], "kube_node": ["node2"]}

PROBE = r"""
import socket, sys
source, node = sys.argv[1:]
tcp = socket.socket(socket.AF_INET6)
tcp.settimeout(1.5)
tcp.bind((source, 0))
try:
    tcp.connect((node, 10250))
    print("connected")
except ConnectionRefusedError:
    print("refused")
except OSError:
    print("dropped")
"""


@pytest.fixture()
def namespaces():
    require_lab()
    node, peer = "inventory-node-%d" % os.getpid(), "inventory-peer-%d" % os.getpid()
    try:
        for name in (node, peer):
            sh("ip", "netns", "add", name)
            sh("ip", "-n", name, "link", "set", "lo", "up")
        sh("ip", "-n", node, "link", "add", "veth0", "type", "veth", "peer", "name", "veth1", "netns", peer)
        for name, addresses, device in ((node, [NODE6], "veth0"), (peer, [PEER6, STRANGER6], "veth1")):
            for address in addresses:
                sh("ip", "-n", name, "addr", "add", address + "/64", "dev", device, "nodad")
            sh("ip", "-n", name, "link", "set", device, "up")
        yield node, peer
    finally:
        for name in (node, peer):
            sh("ip", "netns", "delete", name, check=False)


def load(node, backend, plan, tmp_path):
    if backend == "nftables":
        (tmp_path / "nft").write_text(nftables.ruleset_file(plan))
        sh("ip", "netns", "exec", node, "nft", "-f", str(tmp_path / "nft"))
        return
    (tmp_path / "ipsets").write_text(iptables.ipsets_file(plan))
    (tmp_path / "ipv6").write_text(iptables.ruleset_file(plan, "ipv6"))
    sh("ip", "netns", "exec", node, "sh", "-c", 'ipset restore < "$0/ipsets" && ip6tables-restore --noflush < "$0/ipv6"'
       ' && ip6tables -A INPUT -j MICROSEG-INPUT', str(tmp_path))


def probe(peer, source):
    proc = subprocess.run(["ip", "netns", "exec", peer, "python3", "-c", PROBE, source, NODE6], capture_output=True,
                          text=True, timeout=30, check=True)
    return proc.stdout.strip()


@pytest.mark.parametrize("backend", ["nftables", "iptables"])
def test_a_cluster_nodes_ip6_reaches_the_kubelet_and_an_address_of_no_node_does_not(namespaces, backend, tmp_path):
    node, peer = namespaces
    plan = compile_plan({"name": "node2"}, build_inventory(HOSTVARS, GROUPS),
                        {"mode": "host", "state": "block", "management_cidrs": ["10.78.0.0/24", "fd00:78::/64"]})
    # before the rules: both addresses get through (the negative control's baseline)
    assert probe(peer, STRANGER6) == "refused"
    load(node, backend, plan, tmp_path)
    assert probe(peer, PEER6) == "refused"
    assert probe(peer, STRANGER6) == "dropped"
    assert plan["sets"]["cluster_nodes"]["ipv6"] == ["fd00:77::1/128", "fd00:77::2/128"]
