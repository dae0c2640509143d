# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The steady state (docs/architecture.md): a site.yml run that finds nothing to change makes one
module run per node (node_facts), counted from the run's own results (a result with an
`invocation` is a module that ran on the node). A node whose plan changed between runs - a peer
added to the inventory, a new CNI port the node shows - is re-planned and converges in that same
run; a rule someone deleted is found (the negative control: the node's check says so) and repaired."""
from __future__ import annotations

import json

from conftest import control_plane_with_listeners, lab_inventory, playbook, reachable


def site(inventory):
    proc, _recap = playbook("site.yml", inventory)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return json.loads(proc.stdout)


def module_runs(output):
    """{host: modules that ran on it}: results (loop items one by one) that carry an invocation."""
    runs = {}
    for play in output["plays"]:
        for task in play["tasks"]:
            for host, result in task["hosts"].items():
                items = result.get("results") if isinstance(result.get("results"), list) else [result]
                runs[host] = runs.get(host, 0) + len([item for item in items if "invocation" in item])
    return runs


def results_of(output, action):
    """{host: the result of the task with this action} (the last one)."""
    found = {}
    for play in output["plays"]:
        for task in play["tasks"]:
            for host, result in task["hosts"].items():
                if result.get("action", "").endswith(action):
                    found[host] = result
    return found


def changed(output):
    return dict((host, stats["changed"]) for host, stats in output["stats"].items())


def chain(node):
    return node.sh("iptables -S MICROSEG-INPUT").stdout


def in_cluster_set(node, address):
    """Whether the node's cluster-nodes set holds this address (in any network of it)."""
    return node.sh("ipset test mseg-cluster_nodes-v4 %s" % address, check=False).returncode == 0


def test_a_no_change_run_is_one_module_run_per_node_and_a_changed_node_converges_in_its_run(
        lab_nodes, tmp_path, monkeypatch):
    monkeypatch.setenv("ANSIBLE_STDOUT_CALLBACK", "ansible.posix.json")
    cp, worker = lab_nodes("steady-cp"), lab_nodes("steady-w")
    variables = dict(microseg_mode="host", microseg_state="block", microseg_features=["flannel_vxlan"],
                     microseg_backend="iptables")
    inventory = lab_inventory(tmp_path / "hosts.yml", groups={"kube_control_plane": [cp], "kube_node": [worker]},
                              **variables)
    ip = control_plane_with_listeners(cp, 6443, 9999)

    first = site(inventory)
    assert all(count > 0 for count in changed(first).values()), changed(first)
    assert all(count >= 2 for count in module_runs(first).values()), module_runs(first)   # node_facts, host_firewall
    assert reachable(worker, ip, 6443) and not reachable(worker, ip, 9999)
    applied = dict((node.name, chain(node)) for node in (cp, worker))

    # 1. nothing to change: one module run per node, and nothing changes
    second = site(inventory)
    assert module_runs(second) == {cp.name: 1, worker.name: 1}, module_runs(second)
    assert changed(second) == {cp.name: 0, worker.name: 0}
    steady = results_of(second, "host_firewall")
    assert all(result["steady"] is True for result in steady.values()), steady
    assert dict((node.name, chain(node)) for node in (cp, worker)) == applied

    # 2. drift: someone deletes one of our rules on the worker. The node's check finds it (the
    # negative control: in_sync false), and the same run puts it back; the control plane stays steady.
    rule = [line for line in applied[worker.name].splitlines() if "--dport 8472" in line][0]
    worker.sh("iptables %s" % rule.replace("-A ", "-D ", 1))
    assert chain(worker) != applied[worker.name]
    third = site(inventory)
    checked = results_of(third, "node_facts")
    assert checked[worker.name]["ansible_facts"]["microseg_applied"]["in_sync"] is False
    assert checked[cp.name]["ansible_facts"]["microseg_applied"]["in_sync"] is True
    assert results_of(third, "host_firewall")[worker.name]["steady"] is False
    assert "differs from what it last applied" in results_of(third, "host_firewall")[worker.name]["steady_reason"]
    assert changed(third)[worker.name] > 0 and changed(third)[cp.name] == 0
    assert module_runs(third)[cp.name] == 1 and module_runs(third)[worker.name] >= 2
    assert chain(worker) == applied[worker.name]

    # 3. a peer joins the inventory: the nodes' own evidence is the same, their plans are not. They
    # are re-planned and apply in the same run; the run after is steady again, the new node included.
    joined = lab_nodes("steady-w2")
    inventory = lab_inventory(tmp_path / "hosts.yml", groups={"kube_control_plane": [cp],
                                                              "kube_node": [worker, joined]}, **variables)
    joined_ip = joined.sh("ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1").stdout.strip()
    # ipset test, not the listing: the planner merges neighbouring addresses into one network
    # (10.89.1.30/31 holds .31), so the address itself need not appear in `ipset list`
    assert not in_cluster_set(cp, joined_ip)
    fourth = site(inventory)
    applying = results_of(fourth, "host_firewall")
    assert applying[cp.name]["steady"] is False and "plan differs" in applying[cp.name]["steady_reason"]
    assert all(count > 0 for count in changed(fourth).values()), changed(fourth)
    assert in_cluster_set(cp, joined_ip)                             # the new peer is admitted
    assert reachable(joined, ip, 6443) and not reachable(joined, ip, 9999)
    fifth = site(inventory)
    assert module_runs(fifth) == {cp.name: 1, worker.name: 1, joined.name: 1}, module_runs(fifth)
    assert set(changed(fifth).values()) == {0}

    # 4. a new CNI port on the worker (flannel's vxlan device, as detection reads it): its plan
    # changes and applies in the same run, the one after is steady again
    worker.sh("ip link add flannel.1 type vxlan id 1 dstport 8573 dev eth0 nolearning && ip link set flannel.1 up")
    sixth = site(inventory)
    assert results_of(sixth, "host_firewall")[worker.name]["steady"] is False
    assert changed(sixth)[worker.name] > 0
    assert "--dport 8573" in chain(worker)
    seventh = site(inventory)
    assert module_runs(seventh) == {cp.name: 1, worker.name: 1, joined.name: 1}, module_runs(seventh)
    assert set(changed(seventh).values()) == {0}


def test_check_mode_on_a_steady_node_reports_no_change_and_on_a_drifted_one_the_change(
        lab_nodes, tmp_path, monkeypatch):
    monkeypatch.setenv("ANSIBLE_STDOUT_CALLBACK", "ansible.posix.json")
    node = lab_nodes("steady-check")
    inventory = lab_inventory(tmp_path / "hosts.yml", groups={"kube_control_plane": [node]}, microseg_mode="host",
                              microseg_backend="nftables")
    site(inventory)
    proc, _recap = playbook("site.yml", inventory, "--check")
    assert proc.returncode == 0 and json.loads(proc.stdout)["stats"][node.name]["changed"] == 0
    assert module_runs(json.loads(proc.stdout)) == {node.name: 1}
    listing = node.sh("nft -a list chain inet microseg input").stdout
    handle = [line for line in listing.splitlines() if "dport 22" in line][0].rsplit("handle ", 1)[1]
    node.sh("nft delete rule inet microseg input handle %s" % handle)
    drifted = node.sh("nft list table inet microseg").stdout
    proc, _recap = playbook("site.yml", inventory, "--check")
    assert proc.returncode == 0 and json.loads(proc.stdout)["stats"][node.name]["changed"] > 0
    assert node.sh("nft list table inet microseg").stdout == drifted                 # check mode changed nothing
