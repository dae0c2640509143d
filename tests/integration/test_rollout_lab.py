# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/rollout.yml: batches with a health gate; the rollout stops at the first failed batch."""
from __future__ import annotations

import re

from conftest import lab_inventory, playbook


def ours(node):
    return node.sh("iptables-save -t filter | grep -c MICROSEG || true").stdout.strip() != "0"


def test_rollout_in_batches_stops_at_the_first_failed_gate(lab_nodes, tmp_path):
    cp, w1, w2 = lab_nodes("ro-cp"), lab_nodes("ro-w1"), lab_nodes("ro-w2")
    for node in (cp, w1, w2):
        node.sh("setsid nc -l -k -p 10250 >/dev/null 2>&1 < /dev/null &")
    # w1 is also a dedicated etcd member: a quorum node, which goes alone although batches hold 2
    inventory = lab_inventory(tmp_path / "hosts.yml", groups={"kube_control_plane": [cp], "kube_node": [w1, w2],
                                                              "etcd": [w1]},
                              microseg_mode="host", microseg_state="block", microseg_features=["flannel_vxlan"])

    proc, recap = playbook("rollout.yml", inventory, "-e", "microseg_batch_size=2")
    assert proc.returncode == 0, proc.stdout[-4000:]
    gates = re.findall(r"(\d+) flows, \1 as expected, 0 broken", proc.stdout)
    assert len(gates) == 3, proc.stdout[-3000:]                      # one gate per batch: cp, w1 (etcd), w2
    assert all(ours(node) for node in (cp, w1, w2))

    # a broken node: something outside our control drops the kubelet port on the first worker
    proc, recap = playbook("remove.yml", inventory)
    assert proc.returncode == 0 and not any(ours(node) for node in (cp, w1, w2))
    w1.sh("iptables -I INPUT 1 -p tcp --dport 10250 -j DROP")
    proc, recap = playbook("rollout.yml", inventory, "-e", "microseg_batch_size=1")
    assert proc.returncode != 0
    assert "the rollout stops at this batch: flows to %s not as planned" % w1.name in proc.stdout, proc.stdout[-4000:]
    assert ours(cp) and ours(w1)
    assert not ours(w2)                                 # the batch after the failed one is left untouched
