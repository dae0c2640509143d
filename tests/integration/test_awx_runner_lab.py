# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/site.yml run the way AWX / Automation Controller runs a job: ansible-runner with a
private data directory (project/, inventory/, env/extravars, env/envvars, env/settings), against
lab nodes; the job's status and events are what AWX would show."""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import ansible_runner
import yaml
from conftest import LAB_CONF, ROOT


def private_data_dir(tmp_path, nodes):
    pdd = tmp_path / "job"
    shutil.copytree(ROOT / "playbooks", pdd / "project" / "playbooks")        # the project checkout
    (pdd / "inventory").mkdir()
    (pdd / "inventory" / "hosts").write_text(yaml.safe_dump({"all": {
        "vars": {"ansible_connection": "containers.podman.podman", "ansible_python_interpreter": "/usr/bin/python3",
                 "ansible_become": False},
        "children": {"kube_control_plane": {"hosts": {nodes[0].name: {}}},
                     "kube_node": {"hosts": dict((node.name, {}) for node in nodes[1:])}}}}))
    (pdd / "env").mkdir()
    # a job template's survey answers (awx/site-survey.json) arrive as extra vars: the lists as JSON text
    (pdd / "env" / "extravars").write_text(yaml.safe_dump({
        "microseg_mode": "host", "microseg_state": "block", "microseg_scope": "node_ip",
        "microseg_whitelist_json": '[{"port": 9100, "from": ["kube_node"], "comment": "node-exporter"}]',
        "microseg_blacklist_json": "[]", "microseg_features": ["flannel_vxlan"]}))
    (pdd / "env" / "envvars").write_text(yaml.safe_dump({
        "ANSIBLE_COLLECTIONS_PATH": str(ROOT / ".collections"), "CONTAINERS_CONF": LAB_CONF,
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")}))
    (pdd / "env" / "settings").write_text(yaml.safe_dump({"job_timeout": 900, "suppress_ansible_output": True}))
    return pdd


def run_job(pdd):
    return ansible_runner.run(private_data_dir=str(pdd), playbook="playbooks/site.yml", quiet=True)


def test_site_yml_as_an_awx_job(lab_nodes, tmp_path, monkeypatch):
    # the runner finds ansible-playbook on PATH, as in an execution environment
    monkeypatch.setenv("PATH", "%s:%s" % (Path(sys.executable).parent, os.environ["PATH"]))
    nodes = [lab_nodes("awx-cp"), lab_nodes("awx-w1")]
    pdd = private_data_dir(tmp_path, nodes)
    job = run_job(pdd)
    assert job.status == "successful" and job.rc == 0, job.stdout.read()[-3000:]
    events = list(job.events)
    applied = [event for event in events if event["event"] == "runner_on_ok"
               and event["event_data"].get("task_action") == "microseg.cluster_firewall.host_firewall"
               and event["event_data"]["res"].get("confirm_token")]
    assert sorted(event["event_data"]["host"] for event in applied) == sorted(node.name for node in nodes)
    assert all(event["event_data"]["res"]["changed"] for event in applied)
    # the survey's JSON whitelist reached the plan and the node
    assert "--dport 9100" in nodes[0].sh("iptables-save -t filter").stdout
    stats = job.stats
    assert all(stats["changed"].get(node.name, 0) > 0 for node in nodes) and not stats["failures"]
    # the same job again: nothing changes (AWX shows changed=0)
    again = run_job(pdd)
    assert again.status == "successful"
    assert not again.stats["changed"] and not again.stats["failures"], again.stats
