# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""site.yml across nodes that cannot be read or written as expected: each such node fails on
its own with a message saying what is missing, before its firewall changes; the others go on."""
from __future__ import annotations

from conftest import lab_inventory, run_module
from test_site_lab import playbook, snapshot

HANGING_DOCKER = ("setsid python3 -c \"import socket, time; s = socket.socket(socket.AF_UNIX); "
                  "s.bind('/var/run/docker.sock'); s.listen(8); c = [s.accept() for _ in range(8)]; time.sleep(600)\" "
                  ">/dev/null 2>&1 < /dev/null & sleep 0.5")


def aside_snapshot(node):
    return node.sh("/root/aside/xtables-nft-multi iptables-save -t filter | grep -v '^#'; /root/aside/nft list ruleset").stdout


def test_each_broken_node_fails_alone_and_unchanged(lab_nodes, tmp_path):
    healthy = lab_nodes("u-healthy")
    no_tools = lab_nodes("u-notools")
    read_only = lab_nodes("u-readonly", privileged=True)
    odd = lab_nodes("u-odd")
    # no iptables, ip6tables, ipset or nft at all (copies kept aside, for this test to look)
    no_tools.sh("mkdir /root/aside && cp /usr/sbin/xtables-nft-multi /usr/sbin/nft /root/aside/ && "
                "rm -f /usr/sbin/iptables* /usr/sbin/ip6tables* /usr/sbin/xtables* /usr/sbin/ipset /usr/sbin/nft")
    # /etc read-only, as on an immutable or broken root file system
    read_only.sh("mount --bind /etc /etc && mount -o remount,ro,bind /etc && ! touch /etc/probe 2>/dev/null")
    # no `ip` binary, and a Docker socket that accepts and never answers
    odd.sh("rm -f /usr/bin/ip /sbin/ip /bin/ip && " + HANGING_DOCKER)
    before = {read_only.name: snapshot(read_only), no_tools.name: aside_snapshot(no_tools)}
    inventory = lab_inventory(tmp_path / "hosts.yml", hosts=[healthy, no_tools, read_only, odd], microseg_mode="host",
                              microseg_docker_timeout=2, microseg_whitelist=[{"port": 8080}])
    proc, recap = playbook("site.yml", inventory)
    out = proc.stdout + proc.stderr          # module warnings go to stderr
    assert proc.returncode != 0
    assert recap[healthy.name]["failed"] == 0 and recap[healthy.name]["changed"] > 0, out[-3000:]
    assert recap[odd.name]["failed"] == 0 and recap[odd.name]["changed"] > 0, out[-3000:]
    assert "ip not found" in out or "'ip'" in out or "ip -details" in out, out
    assert "Docker at /var/run/docker.sock: no answer from /var/run/docker.sock within 2s" in out, out[-2000:]
    assert recap[no_tools.name]["failed"] == 1
    assert "nft not found: install the nftables package" in out or "iptables not found" in out, out[-3000:]
    assert recap[read_only.name]["failed"] == 1
    assert "Read-only file system" in out, out[-3000:]
    assert snapshot(read_only) == before[read_only.name]
    assert aside_snapshot(no_tools) == before[no_tools.name]


def test_the_fact_modules_refuse_to_run_unprivileged(lab_nodes):
    """Unprivileged, iptables-save and /proc/PID/environ cannot be read: the facts must not say
    'no rules yet' for 'could not read'. The module fails and says how to run it."""
    node = lab_nodes("u-user")
    for module in ("firewall_facts", "node_facts", "cni_facts"):
        rc, result = run_as_nobody(node, module)
        assert rc != 0 and "only root may: run it with become: true" in result["msg"], result


def run_as_nobody(node, module):
    return run_module(module, host=node.name, inventory=node.name + ",", connection="containers.podman.podman",
                      extra=["-e", "ansible_python_interpreter=/usr/bin/python3", "-e", "ansible_user=nobody",
                             "-e", "ansible_remote_tmp=/tmp/.ansible-nobody"])
