# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/plan.yml on the example inventory, run as a user runs it (ansible-playbook)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = str(ROOT / "playbooks" / "plan.yml")
INVENTORY = str(ROOT / "inventories" / "example" / "hosts.yml")


def run_playbook(*args, cwd=ROOT):
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    binary = str(Path(sys.executable).parent / "ansible-playbook")
    return subprocess.run([binary, "-i", INVENTORY, PLAYBOOK] + list(args), cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def plans(tmp_path_factory):
    out = tmp_path_factory.mktemp("plans")
    result = run_playbook("-e", "microseg_plan_dir=%s" % out)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout, dict((path.stem, json.loads(path.read_text())) for path in out.glob("*.json"))


def test_every_node_is_planned(plans):
    _output, by_node = plans
    assert sorted(by_node) == ["cp1", "cp2", "cp3", "prometheus", "swarm1", "swarm2", "swarm3", "worker1", "worker2"]


def test_control_plane_admits_exactly_the_cluster_ports_and_management(plans):
    _output, by_node = plans
    cp1 = by_node["cp1"]
    assert cp1["policy"] == {"mode": "host", "state": "block", "scope": "node_ip"}
    admitted = sorted((r["proto"], r["ports"], r["from"]) for r in cp1["rules"] if r["phase"] == "whitelist")
    assert admitted == [
        ("tcp", ["10250"], ["cluster_nodes", "pod_network", "self"]),
        ("tcp", ["10257", "10259"], ["self"]),
        ("tcp", ["2379-2380"], ["control_plane"]),
        ("tcp", ["6443", "30000-32767"], []),
        ("udp", ["30000-32767"], []),
        ("udp", ["8472"], ["cluster_nodes"]),
    ]
    management = [r for r in cp1["rules"] if r["phase"] == "management"]
    assert [(r["proto"], r["ports"], r["from"]) for r in management] == [("tcp", ["22"], ["management"])]
    assert cp1["sets"]["management"]["ipv4"] == ["203.0.113.0/28"]
    assert cp1["default"] == "drop"
    assert set(r["phase"] for r in cp1["rules"]) == {"base", "management", "essential", "whitelist"}


def test_group_vars_reach_the_plans(plans):
    _output, by_node = plans
    swarm2 = by_node["swarm2"]
    assert any(r["proto"] == "udp" and "4800" in r["ports"] for r in swarm2["rules"])
    assert any(r["phase"] == "blacklist" for r in swarm2["rules"])
    assert by_node["prometheus"]["passthrough"] is True
    worker = by_node["worker1"]
    assert any(r["ports"] == ["9100"] for r in worker["rules"])


def test_the_tables_are_printed(plans):
    output, _by_node = plans
    assert "cp1  roles: etcd, kube_control_plane" in output
    assert "everything else: DROP" in output


def test_bad_input_fails_before_anything_with_a_clear_message():
    result = run_playbook("-e", '{"microseg_whitelist": [{"port": 70000}]}')
    assert result.returncode != 0
    assert "microseg_whitelist[0].port: port 70000 is out of range" in result.stdout
    result = run_playbook("-e", "microseg_mode=strict")
    assert result.returncode != 0
    assert "microseg_mode" in result.stdout and "strict" in result.stdout


def test_a_large_play_prints_one_bounded_line_per_node():
    """Above microseg_report_tables nodes, no table (at 5,000 hosts one message was ~470 MB)."""
    result = run_playbook("-e", "microseg_report_tables=3")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "9 nodes: one line each (more than microseg_report_tables=3)" in result.stdout
    assert "cp1  roles: etcd,kube_control_plane  mode=host state=block" in result.stdout
    assert "address sets:" not in result.stdout


def test_a_relative_plan_dir_is_where_ansible_playbook_runs(tmp_path):
    """-e microseg_plan_dir=plans writes under the directory the user runs ansible-playbook from, not
    under the playbook's own directory (where modules run with the local connection)."""
    result = run_playbook("-e", "microseg_plan_dir=plans", "--limit", "cp1", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(path.name for path in (tmp_path / "plans").iterdir()) == ["cp1.json", "cp1.md"]
    assert not (ROOT / "playbooks" / "plans").exists()


def test_a_validation_failure_prints_a_short_line_and_no_deprecation_warning():
    """The argument-spec failure prints the entry point's spec for every host: one-line descriptions
    keep it readable (it was 15,225 characters per host). No CryptographyDeprecationWarning either
    (the pinned cryptography, requirements-dev.txt)."""
    result = run_playbook("-e", "microseg_mode=strict", "--limit", "cp1")
    assert result.returncode != 0
    failed = [line for line in result.stdout.splitlines() if line.startswith("fatal: [cp1]")]
    assert failed and "microseg_mode must be one of: service, host, got: strict" in failed[0]
    assert len(failed[0]) < 8500, len(failed[0])
    assert "DeprecationWarning" not in result.stdout + result.stderr


def test_a_refused_inventory_fails_every_host_with_one_line(tmp_path):
    """One host's bad network refuses the inventory every plan reads: every host of the play is
    failed with the same one line (not one host with nested "caused by" blocks while the others
    show failed=0 without a plan). The value is named whole, as the user wrote it."""
    result = run_playbook("-e", "microseg_plan_dir=%s" % tmp_path, "-e", "microseg_pod_cidrs=10.244.0.0/33",
                          "--limit", "cp1,worker1")
    assert result.returncode != 0
    failed = sorted(line for line in result.stdout.splitlines() if line.startswith("fatal: ["))
    assert [line.split("]")[0] for line in failed] == ["fatal: [cp1", "fatal: [worker1"]
    for line in failed:
        assert "not planned: the inventory was refused" in line and "'10.244.0.0/33'" in line
    assert "caused by" not in result.stdout
    recap = [line.split() for line in result.stdout.splitlines() if line.startswith(("cp1 ", "worker1 "))]
    assert all("failed=1" in fields for fields in recap) and len(recap) == 2
