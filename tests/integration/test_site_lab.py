# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/site.yml and playbooks/remove.yml on lab nodes, as a user runs them. The control
plane is a Debian 13 (trixie) node and the worker a Debian 12 one: trixie's newer iptables,
nftables and Python print rules in their own way, and idempotence compares what the tools print."""
from __future__ import annotations

import difflib
import re

import pytest
from conftest import control_plane_with_listeners, lab_inventory, playbook, reachable

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.nftables.render import normalise


def snapshot(node):
    """The node's firewall as both tools show it (filter table; our nft table, if any), without
    the counters and flow records, which move with the traffic (iptables 1.8.11 prints the
    built-in chains' policy counters)."""
    return (re.sub(r"\[\d+:\d+\]", "[0:0]", node.sh("iptables-save -t filter | grep -v '^#'").stdout),
            normalise(node.sh("nft list table inet microseg 2>/dev/null || true").stdout))


def differences(before, after):
    lines = difflib.unified_diff(before[0].splitlines() + before[1], after[0].splitlines() + after[1], lineterm="")
    return "\n".join(lines)


def versions(node):
    return node.sh("cat /etc/debian_version; python3 -V; iptables -V; nft -v").stdout


@pytest.fixture(scope="module", params=["iptables", "nftables"])
def cluster(request, lab_nodes, trixie_image, tmp_path_factory):
    backend = request.param
    cp, worker = lab_nodes("site-cp-" + backend, image=trixie_image, boot=False), lab_nodes("site-w-" + backend)
    assert versions(cp).startswith("13.") and versions(worker).startswith("12.")
    inventory = lab_inventory(tmp_path_factory.mktemp("site") / "hosts.yml",
                              groups={"kube_control_plane": [cp], "kube_node": [worker]},
                              microseg_mode="host", microseg_state="block", microseg_features=["flannel_vxlan"],
                              microseg_backend=backend)
    ip = control_plane_with_listeners(cp, 6443, 9999)
    assert reachable(worker, ip, 9999) and reachable(worker, ip, 6443)     # open before
    return backend, cp, worker, ip, inventory


def test_site_check_apply_idempotent_then_remove(cluster):
    backend, cp, worker, ip, inventory = cluster
    before = snapshot(cp)

    proc, recap = playbook("site.yml", inventory, "--check", "--diff")
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert snapshot(cp) == before                                                    # check mode changed nothing
    assert ("+-A MICROSEG-INPUT" if backend == "iptables" else "+table inet microseg") in proc.stdout   # diff
    assert reachable(worker, ip, 9999)

    proc, recap = playbook("site.yml", inventory)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert recap[cp.name]["changed"] > 0 and recap[worker.name]["changed"] > 0
    assert reachable(worker, ip, 6443) and not reachable(worker, ip, 9999)
    if backend == "iptables":                     # kube-proxy's jump, in trixie's own iptables, stays first
        rules = cp.sh("iptables -S INPUT").stdout.splitlines()
        assert rules.index("-A INPUT -m comment --comment \"kubernetes health check service ports\" -j KUBE-NODEPORTS") \
            < [index for index, rule in enumerate(rules) if "MICROSEG-INPUT" in rule][0]
    kept_file = "ipv4.rules" if backend == "iptables" else "microseg.nft"
    assert ("-A MICROSEG-INPUT" if backend == "iptables" else "chain input") in cp.sh(
        "cat /etc/microseg/" + kept_file).stdout

    proc, recap = playbook("site.yml", inventory)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert all(counts["changed"] == 0 for counts in recap.values()), recap     # a second run changes nothing,
    #                                                                            trixie's listings included

    # verify.yml probes the planned flows: all as planned, blocked ones included
    proc, recap = playbook("verify.yml", inventory)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert re.search(r"(\d+) flows, \1 as expected, 0 broken", proc.stdout), proc.stdout[-3000:]
    assert "blocked  blocked" in proc.stdout and "passes   passes" in proc.stdout

    # a reboot: netfilter starts empty; the boot script brings back ours, and only ours
    applied = snapshot(cp)
    kept = cp.sh("cat /etc/microseg/*").stdout
    assert "KUBE-" not in kept and "cali-" not in kept
    cp.sh("for t in iptables ip6tables; do $t -F && $t -X; done && ipset destroy && "
          "(nft delete table inet microseg 2>/dev/null || true)")
    assert reachable(worker, ip, 9999)
    cp.sh("/usr/local/sbin/microseg-restore")
    assert not reachable(worker, ip, 9999) and reachable(worker, ip, 6443)
    cp.sh("/usr/local/sbin/microseg-restore")                                        # twice: no duplicate jump
    assert snapshot(cp)[0].count("-j MICROSEG-INPUT") == (1 if backend == "iptables" else 0)
    # then kube-proxy starts and inserts its jump at the top again: we are already after it
    cp.sh("iptables -N KUBE-NODEPORTS && iptables -I INPUT 1 -m comment --comment "
          "'kubernetes health check service ports' -j KUBE-NODEPORTS")
    assert snapshot(cp) == applied, differences(applied, snapshot(cp))
    proc, recap = playbook("site.yml", inventory)
    assert all(counts["changed"] == 0 for counts in recap.values()), recap

    proc, recap = playbook("remove.yml", inventory)
    assert proc.returncode == 0 and recap[cp.name]["changed"] > 0, proc.stdout[-4000:]
    assert cp.sh("test -e /usr/local/sbin/microseg-restore", check=False).returncode != 0
    assert snapshot(cp) == before
    assert cp.sh("test -e /etc/microseg", check=False).returncode != 0
    proc, recap = playbook("verify.yml", inventory)                              # the firewall is gone:
    assert proc.returncode != 0 and re.search(r"flows, \d+ as expected, [1-9]\d* broken", proc.stdout)
    assert reachable(worker, ip, 9999)
    proc, recap = playbook("remove.yml", inventory)
    assert all(counts["changed"] == 0 for counts in recap.values()), recap


REJECTED = [
    ('{"microseg_whitelist": [{"port": 70000}]}', "port 70000 is out of range"),
    ('{"microseg_scope": "cidr", "microseg_trusted_cidrs": ["10.0.0.0/33"]}', "10.0.0.0/33"),
    ('{"microseg_mode": "strict"}', "strict"),
    ('{"microseg_whitelist": [{"port": 80, "from": ["kube_nodes"]}]}', "'kube_nodes' is neither"),
]


def test_a_rejected_run_leaves_the_node_byte_identical(cluster):
    """Bad input stops the run before anything on the node changes: live rules and kept files."""
    _backend, cp, _worker, _ip, inventory = cluster
    proc, _recap = playbook("site.yml", inventory)          # a node with our rules applied
    assert proc.returncode == 0, proc.stdout[-3000:]
    before, kept = snapshot(cp), cp.sh("cat /etc/microseg/* 2>/dev/null || true").stdout
    for extra, named in REJECTED:
        proc, recap = playbook("site.yml", inventory, "-e", extra)
        assert proc.returncode != 0 and recap[cp.name]["failed"] == 1, extra
        assert named in proc.stdout, proc.stdout[-3000:]
        assert snapshot(cp) == before, extra
        assert cp.sh("cat /etc/microseg/* 2>/dev/null || true").stdout == kept, extra


def test_a_node_that_still_blocks_what_the_plan_admits_fails_the_run_and_says_why(lab_nodes, tmp_path):
    """Another table on the input hook with a drop policy (the node's own nftables.conf) drops what
    our rules accept (in netfilter an accept is final only in its own chain): the run says so and
    fails the node, or with microseg_fail_when_blocked=false only says so."""
    cp, worker = lab_nodes("blk-cp"), lab_nodes("blk-w")
    inventory = lab_inventory(tmp_path / "hosts.yml", groups={"kube_control_plane": [cp], "kube_node": [worker]},
                              microseg_mode="host", microseg_state="block", microseg_features=["flannel_vxlan"])
    ip = cp.sh("ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1").stdout.strip()
    cp.sh("setsid nc -l -k -p 6443 >/dev/null 2>&1 < /dev/null &")
    assert reachable(worker, ip, 6443)
    cp.sh("nft add table inet site && nft 'add chain inet site in { type filter hook input priority 5; policy drop; }'"
          " && nft add rule inet site in iif lo accept && nft add rule inet site in ct state established,related accept")
    assert not reachable(worker, ip, 6443)

    proc, recap = playbook("site.yml", inventory)
    assert proc.returncode != 0 and recap[cp.name]["failed"] == 1 and recap[worker.name]["failed"] == 0
    assert "STILL BLOCKED ON THE NODE: nft table inet site chain in (input hook, priority 5) has policy drop" \
        in proc.stdout, proc.stdout[-4000:]
    assert "microseg_fail_when_blocked" in proc.stdout
    assert "-j MICROSEG-INPUT" in cp.sh("iptables-save -t filter").stdout        # ours is applied, and right
    assert not reachable(worker, ip, 6443)                                       # but the node still drops it

    proc, recap = playbook("site.yml", inventory, "-e", "microseg_fail_when_blocked=false")
    assert proc.returncode == 0 and "the node still blocks what it admits" in proc.stdout, proc.stdout[-3000:]
    cp.sh("nft delete table inet site")                                          # the blocker gone: it passes
    assert reachable(worker, ip, 6443)
    proc, recap = playbook("site.yml", inventory)
    assert proc.returncode == 0 and "STILL BLOCKED" not in proc.stdout
