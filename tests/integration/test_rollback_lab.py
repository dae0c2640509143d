# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Commit-confirm over a real SSH connection: a plan that cuts the connection is rolled back by
the node itself, the play says so, and the node is reachable again with its previous rules."""
from __future__ import annotations

import sys
import time

import pytest
from conftest import sh
from test_site_lab import playbook, snapshot

CONFIRM_TIMEOUT = 8


@pytest.fixture(scope="module", params=["iptables", "nftables"])
def ssh_node(request, lab_nodes, tmp_path_factory):
    """A lab node with sshd, reached over SSH from this machine (the controller)."""
    backend = request.param
    node = lab_nodes("rollback-" + backend)
    here = tmp_path_factory.mktemp("rollback")
    key = here / "id_ed25519"
    sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key))
    node.write("/root/.ssh/authorized_keys", (here / "id_ed25519.pub").read_text())
    node.sh("chmod 700 /root/.ssh && chmod 600 /root/.ssh/authorized_keys && mkdir -p /run/sshd && /usr/sbin/sshd")
    ip = node.sh("ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1").stdout.strip()
    inventory = here / "hosts.yml"
    inventory.write_text(
        "all:\n"
        "  vars:\n"
        "    ansible_user: root\n"
        "    ansible_ssh_private_key_file: %s\n"
        "    ansible_ssh_common_args: -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=5\n"
        "    ansible_python_interpreter: /usr/bin/python3\n"
        "    ansible_become: false\n"
        "    microseg_mode: host\n"
        "    microseg_state: block\n"
        "    microseg_backend: %s\n"
        "    microseg_confirm_timeout: %d\n"
        "    microseg_whitelist: [{port: 8080, comment: the node's service}]\n"
        "  hosts:\n"
        "    %s: {ansible_host: %s}\n" % (key, backend, CONFIRM_TIMEOUT, node.name, ip))
    return node, ip, inventory, key


# A ProxyCommand that opens every SSH connection only after a delay: the play's new connection for
# the confirm then arrives after the node's revert time, although the new rules let it through.
SLOW_PROXY = """
import os, socket, sys, threading, time
time.sleep(float(sys.argv[3]))
sock = socket.create_connection((sys.argv[1], int(sys.argv[2])))


def upstream():
    while True:
        data = os.read(0, 65536)
        if not data:
            sock.shutdown(socket.SHUT_WR)
            return
        sock.sendall(data)


threading.Thread(target=upstream, daemon=True).start()
while True:
    data = sock.recv(65536)
    if not data:
        break
    os.write(1, data)
"""
PROXY_DELAY = 4


def ssh_works(ip, key):
    proc = sh("ssh", "-i", str(key), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
              "-o", "ConnectTimeout=3", "-o", "BatchMode=yes", "root@" + ip, "true", check=False)
    return proc.returncode == 0


def test_a_plan_that_keeps_ssh_is_confirmed_and_stays(ssh_node):
    node, ip, inventory, key = ssh_node
    proc, recap = playbook("site.yml", inventory)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "confirmed: the revert armed by token" in proc.stdout, proc.stdout
    assert node.sh("test -e /run/microseg/pending.json", check=False).returncode != 0, proc.stdout  # disarmed
    applied = snapshot(node)
    time.sleep(CONFIRM_TIMEOUT + 2)
    assert snapshot(node) == applied                  # no revert ran
    assert ssh_works(ip, key)


def test_a_plan_that_cuts_ssh_is_rolled_back_by_the_node(ssh_node):
    node, ip, inventory, key = ssh_node
    before = snapshot(node)
    kept = node.sh("cat /etc/microseg/* 2>/dev/null || true").stdout
    # the explicit opt-out leaves the SSH path out of the plan: new connections are dropped
    proc, recap = playbook("site.yml", inventory, "-e", "microseg_management_access=false")
    assert proc.returncode != 0
    assert "The new rules cut the management connection to %s" % node.name in proc.stdout, proc.stdout[-4000:]
    assert "put its previous rules back by itself" in proc.stdout
    assert recap[node.name]["failed"] == 1
    # back to the previous rules, byte for byte, and reachable again
    assert snapshot(node) == before
    assert ssh_works(ip, key)
    # the rulesets kept for the boot restore are still the confirmed ones
    assert node.sh("cat /etc/microseg/* 2>/dev/null || true").stdout == kept
    # a normal run afterwards changes nothing: the node is exactly where the last confirmed run left it
    proc, recap = playbook("site.yml", inventory)
    assert proc.returncode == 0 and recap[node.name]["changed"] == 0, proc.stdout[-3000:]


def test_without_commit_confirm_nothing_is_armed(ssh_node):
    node, _ip, inventory, _key = ssh_node
    proc, recap = playbook("site.yml", inventory, "-e", "microseg_confirm_timeout=0",
                           "-e", '{"microseg_whitelist": [{"port": 8081}]}')
    assert proc.returncode == 0 and recap[node.name]["changed"] > 0, proc.stdout[-3000:]
    assert "confirmed: the revert armed by token" not in proc.stdout, proc.stdout[-3000:]
    assert node.sh("test -e /run/microseg/pending.json", check=False).returncode != 0


def test_a_confirm_that_arrives_too_late_fails_the_play_and_the_node_keeps_its_previous_rules(ssh_node, tmp_path):
    node, _ip, inventory, _key = ssh_node
    proxy = tmp_path / "slow_proxy.py"
    proxy.write_text(SLOW_PROXY)
    slow = tmp_path / "hosts.yml"
    slow.write_text(inventory.read_text().replace(
        "-o ConnectTimeout=5", "-o ConnectTimeout=30 -o 'ProxyCommand=%s %s %%h %%p %d'" % (sys.executable, proxy, PROXY_DELAY)))
    before = snapshot(node)
    kept = node.sh("cat /etc/microseg/* 2>/dev/null || true").stdout
    # a change (a new port), a revert time shorter than it takes to open the confirm's connection
    proc, recap = playbook("site.yml", slow, "-e", "microseg_confirm_timeout=2",
                           "-e", '{"microseg_whitelist": [{"port": 8082}]}')
    assert proc.returncode != 0
    assert ("The confirm reached %s after confirm_timeout (2 s), so the node had put its previous rules back by itself"
            % node.name) in proc.stdout, proc.stdout[-4000:]
    assert "Raise microseg_confirm_timeout" in proc.stdout
    assert recap[node.name]["failed"] == 1 and recap[node.name]["unreachable"] == 0
    assert snapshot(node) == before
    assert node.sh("cat /etc/microseg/* 2>/dev/null || true").stdout == kept
