# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every playbook validates the roles' variables before anything on a node changes: a bad value
fails the run naming the value, on a lab node whose firewall is then checked untouched.

`-e microseg_nodeport=ture` once went unchecked through plan.yml, audit.yml, verify.yml and
rollout.yml (their `tasks_from: NAME.yml` matched no argument_specs entry point), `| bool` made it
false, and rollout.yml applied a plan with the NodePorts closed."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, ansible_env, lab_inventory

CASES = [
    ("playbooks/plan.yml", {"microseg_nodeport": "ture"}, "ture"),
    ("playbooks/audit.yml", {"microseg_nodeport": "ture"}, "ture"),
    ("playbooks/site.yml", {"microseg_nodeport": "ture"}, "ture"),
    ("playbooks/verify.yml", {"microseg_nodeport": "ture"}, "ture"),
    ("playbooks/rollout.yml", {"microseg_nodeport": "ture"}, "ture"),
    ("playbooks/site.yml", {"microseg_blacklist_state": "drop"}, "drop"),
    ("playbooks/site.yml", {"microseg_allow_missing_peers": "maybe"}, "maybe"),
    ("playbooks/remove.yml", {"microseg_iptables_variant": "nft"}, "nft"),
    ("playbooks/verify.yml", {"microseg_verify_timeout": "soon"}, "soon"),
    ("playbooks/rollout.yml", {"microseg_verify_closed_port": "none"}, "none"),
]


@pytest.fixture(scope="module")
def node(lab_nodes):
    return lab_nodes("valid")


def firewall(node):
    return node.sh("iptables-save -t filter | grep -v '^#'; nft list ruleset").stdout


@pytest.mark.parametrize("playbook, variables, bad", CASES)
def test_a_bad_value_fails_every_playbook_before_the_node_changes(node, tmp_path, playbook, variables, bad):
    inventory = lab_inventory(tmp_path / "hosts.yml", [node], {"kube_control_plane": [node]},
                              microseg_node_addresses=["10.88.0.2"])
    before = firewall(node)
    extra = " ".join('%s="%s"' % item for item in variables.items())
    proc = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), playbook,
                           "-e", extra], cwd=ROOT, env=ansible_env(), capture_output=True, text=True, timeout=600,
                          check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output[-3000:]
    name = next(iter(variables))
    assert "Validation of arguments failed" in output and name in output and bad in output, output[-3000:]
    # validation came first: no plan was shown, nothing was applied or removed
    assert "Apply the whitelist" not in output and "Remove our objects" not in output
    assert "Show this node's plan" not in output
    assert firewall(node) == before


def test_a_bad_batch_size_stops_the_rollout_before_the_node_changes(node, tmp_path):
    inventory = lab_inventory(tmp_path / "hosts.yml", [node], {"kube_control_plane": [node]},
                              microseg_node_addresses=["10.88.0.2"])
    before = firewall(node)
    proc = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory),
                           "playbooks/rollout.yml", "-e", "microseg_batch_size=half"], cwd=ROOT, env=ansible_env(),
                          capture_output=True, text=True, timeout=600, check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "microseg_batch_size: half is not allowed" in output, output[-3000:]
    assert "Apply the whitelist" not in output and firewall(node) == before
