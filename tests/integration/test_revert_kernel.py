# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The nftables revert (commit-confirm's rollback, also the firewalld backend's table) puts back
the table exactly as we loaded it: after a revert the flow records still key a TCP packet by its
destination port only. nft 1.0 lists the ICMP record rule without its `meta l4proto icmp`; a
revert that reloaded that listing recorded every packet by its source port too (issue 34, 1).

A node namespace (our table loaded through NftablesHost, the backend's own code) and a peer
namespace on a veth pair; packets go only between the two."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends import observe
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.nftables import render as nftables
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.plan import compile_plan

from conftest import ROOT, require_lab, sh

NODE, PEER = "10.89.0.11", "10.89.0.30"
INVENTORY = {"hosts": {"cp1": {"addresses": [NODE]}, "w1": {"addresses": ["10.89.0.21"]},
                       "other": {"addresses": [PEER]}},
             "groups": {"kube_control_plane": ["cp1"], "kube_node": ["w1"]}}

# Runs in the node namespace: load the old table as a run does, compute and apply a new one with
# the revert armed as host_firewall arms it, then run the revert; print the listing and whether
# the old table compares as live (a second run would change nothing).
NODE_SCRIPT = r"""
import json, os, shutil, subprocess, sys
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.nftables import host as nftables_host
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.base import Runner

class Module(object):
    def get_bin_path(self, name):
        return shutil.which(name)
    def run_command(self, argv, data=None, binary_data=False, environ_update=None):
        proc = subprocess.run(argv, input=data, capture_output=True, text=True,
                              env=dict(os.environ, **(environ_update or {})))
        return proc.returncode, proc.stdout, proc.stderr

old, new, loaded, keep_copy = json.load(sys.stdin)
nftables_host.LOADED = loaded
module = Module()
runner = Runner(module)
nftables_host.NftablesChange(nftables_host.NftablesHost(runner), old, remove=False).apply()
if not keep_copy and os.path.exists(loaded):
    os.remove(loaded)            # as after a reboot: the revert has only the listing
backend = nftables_host.NftablesBackend(module, {"ruleset": {"microseg.nft": new}}, {})
change = backend.change(False)()
revert = backend.revert(change)
change.apply()
actions = revert()
again = nftables_host.NftablesChange(nftables_host.NftablesHost(runner), old, remove=False)
listing = nftables_host.NftablesHost(runner).live_table()
print(json.dumps({"actions": actions, "changed": again.changed, "listing": listing}))
"""


def plan(policy):
    return compile_plan({"name": "cp1", "features": []}, INVENTORY, policy)


@pytest.fixture()
def namespaces():
    require_lab()
    node, peer = "backends-node-%d" % os.getpid(), "backends-peer-%d" % os.getpid()
    try:
        for name in (node, peer):
            sh("ip", "netns", "add", name)
            sh("ip", "-n", name, "link", "set", "lo", "up")
        sh("ip", "-n", node, "link", "add", "veth0", "type", "veth", "peer", "name", "veth1", "netns", peer)
        for name, address, device in ((node, NODE, "veth0"), (peer, PEER, "veth1")):
            sh("ip", "-n", name, "addr", "add", address + "/24", "dev", device)
            sh("ip", "-n", name, "link", "set", device, "up")
        yield node, peer
    finally:
        for name in (node, peer):
            sh("ip", "netns", "delete", name, check=False)


def records(node):
    listing = {}
    for family in ("ipv4",):
        documents = [sh("ip", "netns", "exec", node, "nft", "-j", "list", "set", "inet", "microseg",
                        observe.nft_set(name, family)).stdout for name in observe.NFT_SETS]
        listing[family] = tuple(documents)
    return sorted((record["proto"], record["port"], record["icmp_type"]) for record in observe.nft_records(listing, 0))


PROBE = r"""
import socket, struct, sys
peer, node = sys.argv[1:]
tcp = socket.socket()
tcp.settimeout(1)
tcp.bind((peer, 48327))
try:
    tcp.connect((node, 5555))
    print("connected")
except ConnectionRefusedError:
    print("refused")
except OSError:
    print("dropped")
echo = struct.pack("!BBHHH", 8, 0, 0, 1, 1)
checksum = sum(struct.unpack("!4H", echo))
checksum = ~((checksum & 0xffff) + (checksum >> 16)) & 0xffff
icmp = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
icmp.settimeout(1)
icmp.sendto(struct.pack("!BBHHH", 8, 0, checksum, 1, 1), (node, 0))
try:
    while True:             # the raw socket also sees our own request on some kernels: wait for a reply
        data, _ = icmp.recvfrom(1500)
        if data[20] == 0:
            print("answered")
            break
except OSError:
    print("dropped")
"""


def send(peer):
    """A TCP SYN to 5555 from source port 48327 and one echo request, both dropped by block."""
    proc = sh("ip", "netns", "exec", peer, sys.executable, "-c", PROBE, PEER, NODE)
    return tuple(proc.stdout.split())


@pytest.mark.parametrize("keep_copy", [True, False], ids=["kept-copy", "listing-only"])
def test_a_revert_keeps_the_record_rules_as_rendered(namespaces, tmp_path, keep_copy):
    node, peer = namespaces
    assert send(peer) == ("refused", "answered")                 # without our table the probes get answers
    old = nftables.ruleset_file(plan({"mode": "host", "state": "block"}))
    new = nftables.ruleset_file(plan({"mode": "host", "state": "block",
                                      "whitelist": [{"port": 8080, "from": ["10.0.0.0/8"]}]}))
    env = dict(os.environ, PYTHONPATH=str(ROOT / ".collections"))
    proc = subprocess.run(["ip", "netns", "exec", node, sys.executable, "-c", NODE_SCRIPT],
                          input=json.dumps([old, new, str(tmp_path / "loaded.nft"), keep_copy]), env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["actions"] == ["replace table inet microseg"]
    assert "8080" not in result["listing"]                       # the old table is back
    assert not result["changed"], result["listing"]               # and a second run changes nothing
    # block drops both probes
    assert send(peer) == ("dropped", "dropped")
    # recorded by destination port (and ICMP by type 8), never by the source port 48327
    assert records(node) == [("icmp", None, 8), ("tcp", 5555, None)]
