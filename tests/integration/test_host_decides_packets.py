# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Real packets between two network namespaces (issue 34, items 2, 4 and 11).

A "node" namespace gets the rendered ruleset of one plan (iptables: ipsets, our chain and its jump
in INPUT; nftables: our table), a "peer" namespace sends to it over a veth pair. Only addresses
inside these two namespaces are used, and both are deleted afterwards.

- Item 2: an icmpv6 blacklist must not cut IPv6 neighbour discovery: with the peer's and the
  node's neighbour caches empty, a TCP connection over IPv6 still gets through (it needs
  neighbour solicitations and advertisements admitted), while an ICMPv6 echo request is dropped.
- Items 4 and 11: a host rule after our jump (a stand-in for ufw's chains: DROP tcp/22 and
  tcp/8080 from IPv6) still drops IPv6 SSH with our ruleset loaded, whatever our state, although
  the plan's management sources are IPv4 only (the IPv6 SSH fallback); in monitor and alert it
  still drops a port the plan's whitelist admits too: monitor counts, alert logs, neither accepts.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.iptables import render as iptables
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.nftables import render as nftables
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.plan import compile_plan

from conftest import require_lab

NODE4, PEER4 = "192.0.2.1", "192.0.2.2"
NODE6, PEER6 = "2001:db8:34::1", "2001:db8:34::2"
INVENTORY = {"hosts": {"node": {"addresses": [NODE4, NODE6]}, "peer": {"addresses": [PEER4, PEER6]}},
             "groups": {"all": ["node", "peer"]}}
PORTS = (22, 8080, 9090)

LISTEN = r"""
import socket, sys, time
socks = []
for port in map(int, sys.argv[1:]):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::", port)); s.listen(16); socks.append(s)
print("ready", flush=True)
time.sleep(600)
"""
CONNECT = r"""
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3).close()
    print("open")
except ConnectionRefusedError:
    print("refused")
except OSError:
    print("timeout")
"""
# An ICMPv6 echo request by a raw socket (the kernel fills in the checksum); "reply" or "timeout".
ECHO = r"""
import select, socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
s.sendto(bytes([128, 0, 0, 0, 0x12, 0x34, 0, 1]) + b"microseg", (sys.argv[1], 0))
deadline = 3.0
while True:
    ready, _, _ = select.select([s], [], [], deadline)
    if not ready:
        print("timeout"); break
    data, _addr = s.recvfrom(2048)
    if data[0] == 129 and data[4:6] == bytes([0x12, 0x34]):
        print("reply"); break
"""


def sh(*command, check=True, **kwargs):
    proc = subprocess.run(list(command), capture_output=True, text=True, timeout=120, check=False, **kwargs)
    if check and proc.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s\n%s" % (" ".join(command), proc.returncode, proc.stdout, proc.stderr))
    return proc


class Pair:
    """Two namespaces joined by a veth pair, both families, no DAD (addresses usable at once)."""

    def __init__(self, tag):
        self.node, self.peer = "msegplan%d%sn" % (os.getpid(), tag), "msegplan%d%sp" % (os.getpid(), tag)
        self.listener = None
        sh("ip", "netns", "add", self.node)
        sh("ip", "netns", "add", self.peer)
        veth_node, veth_peer = "mspl%d%s" % (os.getpid() % 100000, tag), "mspp%d%s" % (os.getpid() % 100000, tag)
        sh("ip", "link", "add", veth_node, "netns", self.node, "type", "veth", "peer", "name", veth_peer,
           "netns", self.peer)
        ends = ((self.node, veth_node, NODE4, NODE6), (self.peer, veth_peer, PEER4, PEER6))
        for namespace, device, address4, address6 in ends:
            self.run(namespace, "ip", "link", "set", "lo", "up")
            self.run(namespace, "ip", "addr", "add", address4 + "/24", "dev", device)
            self.run(namespace, "ip", "-6", "addr", "add", address6 + "/64", "dev", device, "nodad")
            self.run(namespace, "ip", "link", "set", device, "up")

    def run(self, namespace, *command, check=True):
        return sh("ip", "netns", "exec", namespace, *command, check=check)

    def listen(self, ports):
        self.listener = subprocess.Popen(["ip", "netns", "exec", self.node, sys.executable, "-c", LISTEN]
                                         + [str(port) for port in ports], stdout=subprocess.PIPE, text=True)
        assert self.listener.stdout.readline().strip() == "ready"

    def connect(self, address, port):
        return self.run(self.peer, sys.executable, "-c", CONNECT, address, str(port)).stdout.strip()

    def echo(self, address):
        return self.run(self.peer, sys.executable, "-c", ECHO, address).stdout.strip()

    def forget_neighbours(self):
        for namespace in (self.node, self.peer):
            self.run(namespace, "ip", "-6", "neigh", "flush", "all")

    def close(self):
        if self.listener is not None:
            self.listener.kill()
            self.listener.wait()
        for namespace in (self.node, self.peer):
            sh("ip", "netns", "del", namespace, check=False)


@pytest.fixture
def pair(request):
    require_lab()
    made = Pair(str(abs(hash(request.node.name)) % 1000))
    try:
        yield made
    finally:
        made.close()


def load(pair, tmp_path, plan, backend):
    """Our objects in the node namespace, as the backend installs them: iptables: ipsets, our
    chain and one jump appended to INPUT (no other rule there yet); nftables: our table."""
    if backend == "iptables":
        files = {"ipsets": iptables.ipsets_file(plan), "ipv4": iptables.ruleset_file(plan, "ipv4"),
                 "ipv6": iptables.ruleset_file(plan, "ipv6")}
        script = ('ipset restore < "$1/ipsets" && iptables-restore --noflush < "$1/ipv4" && '
                  'ip6tables-restore --noflush < "$1/ipv6" && iptables %(jump)s && ip6tables %(jump)s'
                  % {"jump": iptables.JUMP})
    else:
        files = {"nft": nftables.ruleset_file(plan)}
        script = 'nft -f "$1/nft"'
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    pair.run(pair.node, "sh", "-c", script, "load", str(tmp_path))


def host_drops(pair, backend, ports):
    """The host's own rule after ours (ufw's place): DROP these TCP ports from IPv6."""
    listed = ",".join(str(port) for port in ports)
    if backend == "iptables":
        pair.run(pair.node, "ip6tables", "-A", "INPUT", "-p", "tcp", "-m", "multiport", "--dports", listed, "-j", "DROP")
    else:
        pair.run(pair.node, "nft", "add table inet hostfw; add chain inet hostfw input "
                 "{ type filter hook input priority filter + 20; policy accept; }; "
                 "add rule inet hostfw input meta nfproto ipv6 tcp dport { %s } drop" % listed)


@pytest.mark.parametrize("backend", ["iptables", "nftables"])
def test_an_icmpv6_blacklist_keeps_neighbour_discovery_and_drops_echo(pair, tmp_path, backend):
    plan = compile_plan({"name": "node"}, INVENTORY, {
        "mode": "host", "state": "block", "management_cidrs": [PEER4 + "/32", PEER6 + "/128"],
        "whitelist": [{"port": 9090, "from": [PEER6]}], "blacklist": [{"proto": "icmpv6"}]})
    pair.listen([22, 9090])
    # controls, before our rules: echo and TCP pass, so "timeout" below is our rules' doing
    assert pair.echo(NODE6) == "reply"
    assert pair.connect(NODE6, 9090) == "open"
    load(pair, tmp_path, plan, backend)
    pair.forget_neighbours()
    # neighbour discovery (types 135/136) must still pass the blacklist: a connection over IPv6
    # from a peer neither namespace has a neighbour entry for
    assert pair.connect(NODE6, 9090) == "open", pair.run(pair.peer, "ip", "-6", "neigh").stdout
    assert pair.connect(NODE6, 22) == "open"
    # the blacklist still drops ICMPv6 that is not essential: an echo request
    assert pair.echo(NODE6) == "timeout"
    # and the plan still drops what it does not admit (IPv4 has no blacklist: a closed port)
    assert pair.connect(NODE4, 9090) == "timeout"


@pytest.mark.parametrize("backend", ["iptables", "nftables"])
@pytest.mark.parametrize("state", ["monitor", "alert", "block"])
def test_a_host_drop_after_our_jump_still_drops_ipv6_ssh(pair, tmp_path, backend, state):
    # IPv4-only management sources on a dual-stack node: IPv6 SSH falls back to "any source"
    plan = compile_plan({"name": "node", "controller_address": PEER4}, INVENTORY, {
        "mode": "host", "state": state, "management_cidrs": ["192.0.2.0/24"],
        "whitelist": [{"port": 8080, "from": [PEER6]}]})
    pair.listen(PORTS)
    load(pair, tmp_path, plan, backend)
    # controls with our ruleset alone: IPv6 SSH is reachable (never cut by the fallback), and
    # the whitelisted port is reachable in every state
    assert pair.connect(NODE6, 22) == "open"
    assert pair.connect(NODE6, 8080) == "open"
    host_drops(pair, backend, (22, 8080))
    # the host's drop of IPv6 SSH holds in every state: our fallback passes SSH on, never accepts it
    assert pair.connect(NODE6, 22) == "timeout"
    # monitor and alert accept nothing: the host's drop of a whitelisted port holds too; block
    # admits what the plan admits ahead of a host firewall after our jump (iptables; in nftables
    # every table's drop is final)
    expected = "open" if state == "block" and backend == "iptables" else "timeout"
    assert pair.connect(NODE6, 8080) == expected
    # a port neither the plan nor the host's rule names: monitor and alert let it through, block drops it
    assert pair.connect(NODE6, 9090) == ("timeout" if state == "block" else "open")
    # IPv4 SSH from the management sources is admitted (passed on in monitor/alert) and the host does not drop it
    assert pair.connect(NODE4, 22) == "open"


@pytest.mark.parametrize("backend", ["iptables", "nftables"])
def test_an_ipv4_mapped_blacklist_entry_drops_the_ipv4_peer(pair, tmp_path, backend):
    """Item 9: ::ffff:192.0.2.2 is the IPv4 peer 192.0.2.2; an IPv6 rule for it matched nothing."""
    plan = compile_plan({"name": "node"}, INVENTORY, {
        "mode": "host", "state": "block", "management_cidrs": ["198.51.100.0/24"],
        "whitelist": [{"port": 9090, "from": [PEER4, PEER6]}], "blacklist": [{"from": ["::ffff:" + PEER4]}]})
    pair.listen([9090])
    load(pair, tmp_path, plan, backend)
    assert pair.connect(NODE6, 9090) == "open"          # control: the whitelist admits the peer
    assert pair.connect(NODE4, 9090) == "timeout"       # the blacklist drops its IPv4 address
