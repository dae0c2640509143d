# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The iptables backend next to a real ufw (Debian's, enabled, default deny incoming) on a lab
node with systemd as PID 1. Who decides: our jump goes ahead of ufw's chains, so the plan
decides first - what it admits passes although ufw denies, and in host/block mode what it does
not admit is dropped although ufw allows it - and ufw decides what the plan leaves (service
mode). `ufw reload`, `ufw disable && ufw enable` and a reboot neither lose nor duplicate our
jump, and removal leaves ufw's status and the iptables rules as they were."""
from __future__ import annotations

import re

import pytest
from conftest import lab_inventory, playbook, reachable
from test_firewalld_lab import address, check_monitor_and_alert_loosen_nothing, reboot, wait_for_boot

UFW_STATE = ("ufw status verbose; iptables-save | grep -v '^#' | sed 's/\\[[0-9]*:[0-9]*\\]//'; "
             "ip6tables-save | grep -v '^#' | sed 's/\\[[0-9]*:[0-9]*\\]//'")
PORTS = (6443, 9999, 7777)


def listen(node):
    node.sh("for port in %s; do setsid nc -l -k -p $port >/dev/null 2>&1 < /dev/null & done"
            % " ".join(str(port) for port in PORTS))


def matrix(worker, ip):
    return dict((port, reachable(worker, ip, port)) for port in PORTS)


def input_jumps(node):
    """INPUT's jumps to our chain and to ufw's, in order."""
    return re.findall(r"-j (MICROSEG-INPUT|ufw-before-logging-input)", node.sh("iptables -S INPUT").stdout)


HOST_BLOCK = {6443: True, 9999: False, 7777: False}          # the plan decides: only what it admits
SERVICE = {6443: True, 9999: True, 7777: False}              # ufw decides what the plan leaves


@pytest.fixture(scope="module")
def cluster(lab_nodes, systemd_image, tmp_path_factory):
    cp = lab_nodes("ufw-cp", image=systemd_image)
    worker = lab_nodes("ufw-w")
    wait_for_boot(cp)
    # ufw's steady state: its first enable leaves some of its chains empty until a restart of ufw
    cp.sh("systemctl disable --now firewalld && ufw --force enable && ufw allow 9999/tcp && "
          "ufw disable && ufw --force enable")
    listen(cp)
    inventory = lab_inventory(tmp_path_factory.mktemp("ufw") / "hosts.yml",
                              groups={"kube_control_plane": [cp], "kube_node": [worker]},
                              microseg_mode="host", microseg_state="block", microseg_features=["flannel_vxlan"])
    return cp, worker, inventory


def test_the_plan_decides_first_and_ufw_what_it_leaves_through_reload_disable_enable_reboot(cluster):
    cp, worker, inventory = cluster
    ip = address(cp)
    before = cp.sh(UFW_STATE).stdout
    assert matrix(worker, ip) == {6443: False, 9999: True, 7777: False}     # ufw alone: default deny, 9999 allowed

    proc, recap = playbook("site.yml", inventory)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert "ufw is active: our jump sits ahead of its chains" in proc.stdout
    assert matrix(worker, ip) == HOST_BLOCK
    assert input_jumps(cp) == ["MICROSEG-INPUT", "ufw-before-logging-input"]
    proc, recap = playbook("site.yml", inventory)
    assert proc.returncode == 0 and all(counts["changed"] == 0 for counts in recap.values()), recap
    proc, recap = playbook("verify.yml", inventory)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert re.search(r"(\d+) flows, \1 as expected, 0 broken", proc.stdout), proc.stdout[-3000:]

    for command in ("ufw reload", "ufw disable && ufw --force enable"):
        cp.sh(command)
        assert matrix(worker, ip) == HOST_BLOCK, command
        assert input_jumps(cp) == ["MICROSEG-INPUT", "ufw-before-logging-input"], command
    # our boot unit runs before ufw's (ufw then appends its jumps after ours)
    assert "ufw.service" in cp.sh("systemctl show -p Before microseg-firewall.service").stdout
    ip = reboot(cp)
    listen(cp)
    assert matrix(worker, ip) == HOST_BLOCK, "after a reboot:\n" + cp.sh(
        "iptables -S INPUT; systemctl status --no-pager microseg-firewall ufw", check=False).stdout
    assert input_jumps(cp) == ["MICROSEG-INPUT", "ufw-before-logging-input"], cp.sh("iptables -S INPUT").stdout
    proc, recap = playbook("site.yml", inventory)                        # plans the node's new address, if any
    assert proc.returncode == 0, proc.stdout[-3000:]
    proc, recap = playbook("site.yml", inventory)
    assert proc.returncode == 0 and all(counts["changed"] == 0 for counts in recap.values()), recap

    proc, recap = playbook("site.yml", inventory, "-e", "microseg_mode=service")
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert matrix(worker, ip) == SERVICE                    # the user's `ufw allow` works again; ufw denies 7777

    proc, recap = playbook("remove.yml", inventory)
    assert proc.returncode == 0 and recap[cp.name]["changed"] > 0, proc.stdout[-4000:]
    assert cp.sh(UFW_STATE).stdout == before
    assert matrix(worker, ip) == {6443: False, 9999: True, 7777: False}


def test_next_to_ufw_monitor_and_alert_change_no_verdict_on_either_family(cluster, tmp_path):
    """Our jump sits ahead of ufw's chains: in monitor and alert it must only count, on IPv4 and
    IPv6, and never accept SSH or a planned port that ufw denies (issue 34, items 4 and 11)."""
    cp, worker, _inventory = cluster
    check_monitor_and_alert_loosen_nothing(cp, worker, tmp_path, "c")
