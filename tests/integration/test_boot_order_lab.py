# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The boot restore against the distribution's own firewall unit (issue 34, item 6): a systemd node
with Debian's nftables.service enabled, whose /etc/nftables.conf begins with `flush ruleset`. Our unit
must load our table after it, or the flush takes our rules out at every boot and the node comes up
open. A container restart is the reboot: netfilter starts empty and systemd starts both units.

systemd starts units that are not ordered against each other in parallel, so which one wins is a
race. nftables.service gets a drop-in that makes it slow (a 3 s pause before its load, as a large
ruleset or a slow disk would): unordered, our unit then runs first and is flushed every time, so
the test fails on a unit that is not ordered after nftables.service, instead of passing by luck."""
from __future__ import annotations

import pytest
from conftest import lab_inventory, playbook, reachable
from test_firewalld_lab import address, reboot, wait_for_boot

SLOW_NFTABLES = "[Service]\nExecStartPre=/bin/sleep 3\n"


def listen(node):
    node.sh("for port in 6443 9999; do setsid nc -l -k -p $port >/dev/null 2>&1 < /dev/null & done")


def matrix(worker, ip):
    return {"6443 (planned)": reachable(worker, ip, 6443), "9999 (not planned)": reachable(worker, ip, 9999)}


PLANNED = {"6443 (planned)": True, "9999 (not planned)": False}
OPEN = {"6443 (planned)": True, "9999 (not planned)": True}


def monotonic(node, unit, prop):
    return int(node.sh("systemctl show -p %s --value %s" % (prop, unit)).stdout.strip() or 0)


@pytest.fixture(scope="module")
def nftables_node(lab_nodes, systemd_image, tmp_path_factory):
    """A systemd node where the user runs Debian's nftables.service (firewalld and ufw, which the
    image also has, are disabled: firewalld conflicts with nftables.service), and a plain worker."""
    cp = lab_nodes("boot-cp", image=systemd_image)
    worker = lab_nodes("boot-w")
    wait_for_boot(cp)
    cp.sh("systemctl disable --now firewalld ufw && systemctl enable nftables")
    cp.write("/etc/systemd/system/nftables.service.d/slow.conf", SLOW_NFTABLES)
    cp.sh("systemctl daemon-reload && systemctl start nftables")
    assert cp.sh("head -5 /etc/nftables.conf").stdout.count("flush ruleset") == 1      # Debian's file, as shipped
    listen(cp)
    inventory = lab_inventory(tmp_path_factory.mktemp("boot") / "hosts.yml",
                              groups={"kube_control_plane": [cp], "kube_node": [worker]},
                              microseg_mode="host", microseg_state="block", microseg_features=["flannel_vxlan"],
                              microseg_backend="nftables")
    return cp, worker, inventory


def test_our_table_is_back_after_a_reboot_with_nftables_service_enabled(nftables_node):
    cp, worker, inventory = nftables_node
    ip = address(cp)
    assert matrix(worker, ip) == OPEN                       # nftables.conf's table filters nothing

    proc, recap = playbook("site.yml", inventory)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert matrix(worker, ip) == PLANNED
    assert cp.sh("systemctl is-enabled microseg-firewall.service").stdout.strip() == "enabled"

    ip = reboot(cp)
    listen(cp)
    # nftables.service did run at this boot (its table is there, so its `flush ruleset` ran too)...
    assert cp.sh("systemctl is-active nftables.service").stdout.strip() == "active"
    assert cp.sh("nft list table inet filter", check=False).returncode == 0
    state = cp.sh("systemctl status nftables microseg-firewall --no-pager; nft list tables; journalctl -b "
                  "-u nftables -u microseg-firewall --no-pager -o short-monotonic", check=False).stdout
    # ...and our unit after it: our table survived, and it filters (the blocked probe is blocked,
    # the planned one passes)
    assert cp.sh("nft list table inet microseg", check=False).returncode == 0, "our table is gone:\n" + state
    assert matrix(worker, ip) == PLANNED, "after a reboot:\n" + state
    assert monotonic(cp, "nftables.service", "ExecMainExitTimestampMonotonic") <= monotonic(
        cp, "microseg-firewall.service", "ExecMainStartTimestampMonotonic"), state
    # the new ordering made no cycle (systemd would break it by dropping a unit from the boot)
    assert "ordering cycle" not in cp.sh("journalctl -b --no-pager", check=False).stdout.lower()

    proc, recap = playbook("site.yml", inventory)           # plans the node's new address, if any
    assert proc.returncode == 0, proc.stdout[-3000:]
    proc, recap = playbook("site.yml", inventory)
    assert proc.returncode == 0 and all(counts["changed"] == 0 for counts in recap.values()), proc.stdout[-3000:]
    assert matrix(worker, ip) == PLANNED
