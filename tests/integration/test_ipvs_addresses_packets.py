# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""kube-proxy in IPVS mode binds LoadBalancer, externalIP and ClusterIP addresses to kube-ipvs0
and does not DNAT before INPUT, so the DNAT rule never sees them (issue 35, item 8). The plan
admits traffic to the addresses the node's facts show on kube-ipvs0, from any source, as the DNAT
rule does in iptables mode.

Real packets, both backends: a node namespace with a bridge named kube-ipvs0 standing in for
kube-proxy's dummy device (this kernel has neither dummy nor IPVS; detection reads names and
addresses only) holding a LoadBalancer address, a client namespace routed to it over a veth
pair. A listener on the LoadBalancer address stands in for IPVS (the packet crosses INPUT to a
local address either way). Negative control: the same port on the node's own address is dropped.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.iptables import render as iptables
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.nftables import render as nftables
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.plan import compile_plan

from conftest import require_lab, sh

NODE, CLIENT = "nodecni-node-%d" % os.getpid(), "nodecni-client-%d" % os.getpid()
NODE_IP, CLIENT_IP, LB_IP, PORT = "10.77.0.1", "10.77.0.2", "10.77.9.200", 8080
LISTENER = ("import socket, sys\n"
            "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
            "s.bind(('0.0.0.0', %d)); s.listen(16)\n"
            "while True:\n"
            "    c, _ = s.accept(); c.close()\n" % PORT)
CONNECT = ("import socket, sys\n"
           "s = socket.socket(); s.settimeout(2)\n"
           "try:\n"
           "    s.connect((sys.argv[1], %d)); print('open')\n"
           "except OSError:\n"
           "    print('closed')\n" % PORT)


def in_ns(name, *command, check=True):
    return sh("ip", "netns", "exec", name, *command, check=check)


@pytest.fixture()
def lab():
    require_lab()
    listener = None
    try:
        sh("ip", "netns", "add", NODE)
        sh("ip", "netns", "add", CLIENT)
        sh("ip", "link", "add", "ncn0", "netns", NODE, "type", "veth", "peer", "name", "ncn1", "netns", CLIENT)
        for command in (["ip", "link", "set", "lo", "up"], ["ip", "addr", "add", NODE_IP + "/24", "dev", "ncn0"],
                        ["ip", "link", "set", "ncn0", "up"],
                        ["ip", "link", "add", "kube-ipvs0", "type", "bridge"],
                        ["ip", "addr", "add", LB_IP + "/32", "dev", "kube-ipvs0"],
                        ["ip", "addr", "add", "10.96.0.1/32", "dev", "kube-ipvs0"],
                        ["ip", "link", "set", "kube-ipvs0", "up"]):
            in_ns(NODE, *command)
        for command in (["ip", "link", "set", "lo", "up"], ["ip", "addr", "add", CLIENT_IP + "/24", "dev", "ncn1"],
                        ["ip", "link", "set", "ncn1", "up"], ["ip", "route", "add", "10.77.9.0/24", "via", NODE_IP]):
            in_ns(CLIENT, *command)
        listener = subprocess.Popen(["ip", "netns", "exec", NODE, sys.executable, "-c", LISTENER])
        time.sleep(0.5)
        yield
    finally:
        if listener is not None:
            listener.terminate()
            listener.wait(timeout=10)
        sh("ip", "netns", "delete", CLIENT, check=False)
        sh("ip", "netns", "delete", NODE, check=False)


def reaches(address):
    return in_ns(CLIENT, sys.executable, "-c", CONNECT, address).stdout.strip() == "open"


def node_facts_links():
    """kube-ipvs0's addresses as cni_facts reads them on the node (ip -details -json address show)."""
    from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect import cni
    links = cni.parse_links(in_ns(NODE, "ip", "-details", "-json", "address", "show").stdout)
    return cni.service_facts(links, "ipvs")["cluster_ips"]


def plan():
    inventory = {"hosts": {"node": {"addresses": [NODE_IP]}, "cp": {"addresses": ["10.77.0.3"]}},
                 "groups": {"kube_node": ["node"], "kube_control_plane": ["cp"]}}
    return compile_plan({"name": "node", "features": ["kube_proxy_ipvs"], "cluster_ips": node_facts_links(),
                         "service_cidrs": ["10.96.0.0/12"], "pod_cidrs": ["10.244.0.0/16"],
                         "controller_address": "10.77.0.250"}, inventory, {"mode": "host", "state": "block"})


def load(backend, planned, tmp_path):
    if backend == "iptables":
        (tmp_path / "ipsets").write_text(iptables.ipsets_file(planned))
        (tmp_path / "ipv4").write_text(iptables.ruleset_file(planned, "ipv4"))
        in_ns(NODE, "sh", "-c", "ipset restore < %s/ipsets && iptables-restore --noflush < %s/ipv4 && "
              "iptables -I INPUT -j MICROSEG-INPUT" % (tmp_path, tmp_path))
    else:
        (tmp_path / "nft").write_text(nftables.ruleset_file(planned))
        in_ns(NODE, "nft", "-f", str(tmp_path / "nft"))


@pytest.mark.parametrize("backend", ["iptables", "nftables"])
def test_loadbalancer_address_on_kube_ipvs0_is_admitted_and_the_nodes_own_port_is_not(lab, tmp_path, backend):
    assert reaches(LB_IP) and reaches(NODE_IP)                # no firewall yet: both answer
    planned = plan()
    assert LB_IP in node_facts_links()
    load(backend, planned, tmp_path)
    assert reaches(LB_IP), "the LoadBalancer address on kube-ipvs0 is dropped (%s)" % backend
    assert not reaches(NODE_IP), "negative control: port %d on the node's own address must be dropped" % PORT
