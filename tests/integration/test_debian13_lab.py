# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A Debian 13 (trixie) node next to a Debian 12 one, on both backends: trixie's newer iptables,
nftables and Python print rules in their own way, and idempotence compares what the tools print."""
from __future__ import annotations

import re

import pytest
from conftest import control_plane_with_listeners, lab_inventory, playbook, reachable


def versions(node):
    return node.sh("cat /etc/debian_version; python3 -V; iptables -V; nft -v").stdout


@pytest.fixture(scope="module", params=["iptables", "nftables"])
def cluster(request, lab_nodes, trixie_image, tmp_path_factory):
    backend = request.param
    cp = lab_nodes("d13-cp-" + backend, image=trixie_image, boot=False)
    worker = lab_nodes("d12-w-" + backend)
    assert versions(cp).startswith("13.") and versions(worker).startswith("12.")
    inventory = lab_inventory(tmp_path_factory.mktemp("debian13") / "hosts.yml",
                              groups={"kube_control_plane": [cp], "kube_node": [worker]},
                              microseg_mode="host", microseg_state="block", microseg_features=["flannel_vxlan"],
                              microseg_backend=backend)
    ip = control_plane_with_listeners(cp, 6443, 9999)       # kube-proxy's jump in trixie's own iptables
    assert reachable(worker, ip, 9999)
    return backend, cp, worker, ip, inventory


def test_debian13_converges_idempotently_next_to_debian12(cluster):
    backend, cp, worker, ip, inventory = cluster
    proc, recap = playbook("site.yml", inventory)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert recap[cp.name]["changed"] > 0 and recap[worker.name]["changed"] > 0
    assert reachable(worker, ip, 6443) and not reachable(worker, ip, 9999)      # 9999: the negative control
    if backend == "iptables":
        rules = cp.sh("iptables -S INPUT").stdout.splitlines()
        assert rules.index("-A INPUT -m comment --comment \"kubernetes health check service ports\" -j KUBE-NODEPORTS") \
            < [index for index, rule in enumerate(rules) if "MICROSEG-INPUT" in rule][0]
    else:
        assert "chain input" in cp.sh("nft list table inet microseg").stdout

    proc, recap = playbook("site.yml", inventory)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert all(counts["changed"] == 0 for counts in recap.values()), recap     # trixie's output compares too

    proc, recap = playbook("verify.yml", inventory)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert re.search(r"(\d+) flows, \1 as expected, 0 broken", proc.stdout), proc.stdout[-3000:]

    proc, recap = playbook("remove.yml", inventory)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert reachable(worker, ip, 9999)
    assert "microseg" not in cp.sh("iptables-save; nft list ruleset").stdout.lower()
