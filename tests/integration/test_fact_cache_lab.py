# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The playbooks gather no facts: the facts role's one module run per node (node_facts) reads
what the node runs and, for a host with no facts yet, its addresses. With a fact cache the
addresses come from the cache, and what the node runs is still read on every run."""
from __future__ import annotations

import json

import netaddr

from conftest import lab_inventory, playbook


def node_facts_runs(stdout):
    """{host: (gather_subset asked for, the node's address as the facts of that run give it)}."""
    runs = {}
    for play in json.loads(stdout)["plays"]:
        for task in play["tasks"]:
            for host, result in task["hosts"].items():
                # the facts role's second node_facts task (a re-read once PyYAML is installed) is
                # skipped on nodes that need none: only runs that ran count
                if result.get("action", "").endswith("node_facts") and not result.get("skipped"):
                    facts = result.get("ansible_facts", {})
                    runs[host] = (result["invocation"]["module_args"]["gather_subset"],
                                  facts.get("ansible_default_ipv4", {}).get("address"),
                                  "microseg_firewall" in facts)
    return runs


def test_addresses_come_from_the_cache_and_detection_runs_every_time(lab_nodes, tmp_path, monkeypatch):
    control_plane, worker = lab_nodes("cache-cp"), lab_nodes("cache-w")
    inventory = lab_inventory(tmp_path / "hosts.yml", hosts=[control_plane, worker],
                              groups={"kube_control_plane": [control_plane], "kube_node": [worker]})
    monkeypatch.setenv("ANSIBLE_CACHE_PLUGIN", "jsonfile")
    monkeypatch.setenv("ANSIBLE_CACHE_PLUGIN_CONNECTION", str(tmp_path / "facts"))
    monkeypatch.setenv("ANSIBLE_STDOUT_CALLBACK", "ansible.posix.json")
    control_plane_ip = control_plane.sh("hostname -i").stdout.split()[0]

    proc, _recap = playbook("audit.yml", inventory, "-e", "microseg_plan_dir=%s" % (tmp_path / "first"))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    first = node_facts_runs(proc.stdout)
    assert first[control_plane.name] == (["network", "env"], control_plane_ip, True)   # no facts yet: gathered here
    plan = json.loads((tmp_path / "first" / (worker.name + ".json")).read_text())
    # the worker admits the control plane by its gathered address (the kubelet admits every cluster node)
    assert netaddr.IPAddress(control_plane_ip) in netaddr.IPSet(plan["sets"]["cluster_nodes"]["ipv4"]), plan["sets"]

    proc, _recap = playbook("audit.yml", inventory, "-e", "microseg_plan_dir=%s" % (tmp_path / "second"))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    second = node_facts_runs(proc.stdout)
    assert second[control_plane.name] == ([], None, True)       # cached: only what the node runs is read
    assert json.loads((tmp_path / "second" / (worker.name + ".json")).read_text()) == plan   # the cached address
