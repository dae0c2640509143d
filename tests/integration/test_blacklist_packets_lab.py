# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The blacklist is first and final, shown with real TCP between lab nodes, on both backends:

- it drops in every whitelist state, and before the admit of traffic kube-proxy/Docker DNAT'ed;
- microseg_blacklist_state monitor lets it go on to the whitelist, which then decides;
- a connection already established from a source that becomes blacklisted is cut when the
  blacklist is applied;
- the management SSH path comes before it (and the plan reports the conflict);
- microseg_nodeport false in host mode closes NodePort connections DNAT'ed to the node itself.

A NodePort is stood for by a nat REDIRECT of port 30080 to a local listener on 8090 (what
kube-proxy does for a hostNetwork endpoint): such connections reach INPUT as DNAT'ed.
"""
from __future__ import annotations

import json
import time

import pytest

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.iptables import render as iptables
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.nftables import render as nftables
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.plan import compile_plan

SSH_PORT = 2222
APP = 8081             # whitelisted from any source
OTHER = 8082           # admitted by nothing
LONG_LIVED = 8083      # the established connection
NODEPORT, BEHIND = 30080, 8090
SERVER = r"""
import socket, sys, threading
def serve(conn):
    with open("/tmp/received", "a") as out:
        while True:
            data = conn.recv(100)
            if not data:
                return
            out.write(data.decode()); out.flush()
listener = socket.socket(); listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("", %d)); listener.listen(5)
while True:
    threading.Thread(target=serve, args=(listener.accept()[0],), daemon=True).start()
""" % LONG_LIVED
CLIENT = r"""
import os, socket, sys, time
sock = socket.create_connection((sys.argv[1], %d), timeout=5)
sock.sendall(b"before;")
while not os.path.exists("/tmp/go"):
    time.sleep(0.2)
try:
    sock.sendall(b"after;")
except OSError:
    pass
time.sleep(6)
""" % LONG_LIVED


def address(node):
    return node.sh("ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1").stdout.strip()


def reaches(peer, ip, port):
    return peer.sh("nc -z -w 2 %s %d" % (ip, port), check=False).returncode == 0


class Lab(object):
    def __init__(self, lab_nodes, backend):
        short = "nft" if backend == "nftables" else "ipt"
        self.backend = backend
        self.fw, self.good, self.bad = (lab_nodes("bl%s-%s" % (short, role)) for role in ("fw", "good", "bad"))
        self.ip = dict((node, address(node)) for node in (self.fw, self.good, self.bad))
        for port in (SSH_PORT, APP, OTHER, BEHIND):
            self.fw.sh("setsid nc -l -k -p %d >/dev/null 2>&1 < /dev/null &" % port)
        self.fw.write("/tmp/server.py", SERVER)
        self.fw.sh("setsid python3 /tmp/server.py >/dev/null 2>&1 < /dev/null &")
        self.fw.sh("iptables-nft -t nat -A PREROUTING -p tcp --dport %d -j REDIRECT --to-ports %d" % (NODEPORT, BEHIND))
        time.sleep(0.5)
        for peer in (self.good, self.bad):
            for port in (SSH_PORT, APP, OTHER, NODEPORT):
                assert reaches(peer, self.ip[self.fw], port), "port %d not reachable before any rule" % port

    def plan(self, **policy):
        inventory = {"hosts": dict((node.name, {"addresses": [self.ip[node]]}) for node in (self.fw, self.good, self.bad)),
                     "groups": {"kube_node": [self.fw.name], "peers": [self.good.name, self.bad.name]}}
        base = {"mode": "host", "whitelist": [{"port": APP}], "blacklist": [{"from": [self.bad.name]}]}
        base.update(policy)
        return compile_plan({"name": self.fw.name, "ssh_port": SSH_PORT}, inventory, base)

    def apply(self, plan):
        if self.backend == "nftables":
            args = {"backend": "nftables", "ruleset": {"microseg.nft": nftables.ruleset_file(plan)}}
        else:
            args = {"variant": "nf_tables", "ruleset": {"ipv4.rules": iptables.ruleset_file(plan, "ipv4"),
                                                        "ipv6.rules": iptables.ruleset_file(plan, "ipv6"),
                                                        "ipsets": iptables.ipsets_file(plan)}}
        rc, result = self.fw.run_module("host_firewall", json.dumps(args))
        assert rc == 0, result
        return result

    def reach(self, peer, port):
        return reaches(peer, self.ip[self.fw], port)


@pytest.fixture(scope="module", params=["iptables", "nftables"])
def lab(request, lab_nodes):
    return Lab(lab_nodes, request.param)


@pytest.mark.parametrize("state", ["monitor", "alert", "block"])
def test_the_blacklist_drops_in_every_whitelist_state_even_dnated_traffic(lab, state):
    lab.apply(lab.plan(state=state))
    assert not lab.reach(lab.bad, APP)            # whitelisted from anywhere, but blacklisted
    assert not lab.reach(lab.bad, NODEPORT)       # DNAT'ed: the blacklist comes before that admit
    assert lab.reach(lab.good, APP) and lab.reach(lab.good, NODEPORT)     # positive controls


def test_a_watching_blacklist_leaves_the_decision_to_the_whitelist(lab):
    lab.apply(lab.plan(state="block", blacklist_state="monitor"))
    assert lab.reach(lab.bad, APP)                # counted, then admitted by the whitelist
    assert not lab.reach(lab.bad, OTHER)          # counted, then dropped by host mode
    assert not lab.reach(lab.good, OTHER)


def test_the_management_path_comes_before_the_blacklist(lab):
    plan = lab.plan(management_cidrs=[lab.ip[lab.bad] + "/32"])
    assert any("management_ssh" in conflict["whitelist"] for conflict in plan["conflicts"])
    lab.apply(plan)
    assert lab.reach(lab.bad, SSH_PORT)
    assert not lab.reach(lab.bad, APP)
    assert not lab.reach(lab.good, SSH_PORT)      # management only: good is not in it


def test_nodeports_off_close_what_kube_proxy_dnated_to_the_node(lab):
    lab.apply(lab.plan(nodeport=False))
    assert not lab.reach(lab.good, NODEPORT)
    lab.apply(lab.plan(nodeport=True))
    assert lab.reach(lab.good, NODEPORT)


def test_an_established_connection_from_a_newly_blacklisted_source_is_cut(lab):
    admitted = [{"port": APP}, {"port": LONG_LIVED}]
    lab.apply(lab.plan(blacklist=[], whitelist=admitted))
    lab.fw.sh("rm -f /tmp/received")
    lab.good.sh("rm -f /tmp/go")
    lab.good.write("/tmp/client.py", CLIENT)
    lab.good.sh("setsid python3 /tmp/client.py %s >/dev/null 2>&1 < /dev/null &" % lab.ip[lab.fw])
    deadline = time.time() + 10
    while "before;" not in lab.fw.sh("cat /tmp/received 2>/dev/null", check=False).stdout:
        assert time.time() < deadline, "the connection was not established"
        time.sleep(0.2)
    lab.apply(lab.plan(blacklist=[{"from": [lab.good.name]}], whitelist=admitted))
    lab.good.sh("touch /tmp/go")
    time.sleep(4)
    assert lab.fw.sh("cat /tmp/received").stdout == "before;"
