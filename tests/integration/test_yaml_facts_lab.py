# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A k3s server whose node lacks PyYAML (issue 33 item 3): detection parses the node's YAML
files with PyYAML on the node, so the facts role installs the distribution's package
(python3-yaml) and reads the node again; with microseg_install_packages false the files are
named as unread in the plan and nothing is guessed from them; check mode says what it would
install. The join token planted in config.yaml and in k3s's environment file appears nowhere in
the run's output (-vvv) or the plans.

No test traffic leaves the lab: the node's only package source is a local repository made of the
.deb files its image was built from (lab/image.sh keeps them in /var/cache/apt/archives)."""
from __future__ import annotations

import json
import subprocess

import pytest
from conftest import BIN, LAB_CONF, ROOT, ansible_env, lab_inventory, local_repository
from test_distributions_lab import stand_in

TOKEN = "K10f00dfacade-lab-planted-token"
CONFIG = "/etc/rancher/k3s/config.yaml"
# Real lines the regex readers misread: a comment after a quoted value, a folded block scalar.
K3S_CONFIG = """\
token: "%s"
https-listen-port: 7443 # moved from 6443
flannel-backend: "none" # This needs to be in quotes
cluster-cidr: >-
  10.52.0.0/16
""" % TOKEN


def audit(inventory, plans, *extra):
    """playbooks/audit.yml (the facts role, then the plan) at -vvv, plans written to `plans`."""
    proc = subprocess.run([str(BIN / "ansible-playbook"), "-vvv", "-i", str(inventory),
                           str(ROOT / "playbooks" / "audit.yml"), "-e", "microseg_plan_dir=%s" % plans] + list(extra),
                          cwd=ROOT, env=ansible_env(CONTAINERS_CONF=LAB_CONF), capture_output=True, text=True,
                          timeout=900, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return proc


def has_pyyaml(node):
    return node.sh("python3 -c 'import yaml'", check=False).returncode == 0


@pytest.fixture(scope="module")
def k3s_without_pyyaml(lab_nodes, tmp_path_factory):
    node = lab_nodes("k3s-noyaml")
    local_repository(node, "python3-yaml", "libyaml-0-2")
    node.sh("dpkg -r --force-depends python3-yaml")
    assert not has_pyyaml(node)
    node.write(CONFIG, K3S_CONFIG)
    node.write("/etc/systemd/system/k3s.service.env", "K3S_TOKEN='%s::server:0123456789'\n" % TOKEN)
    stand_in(node, "k3s", "server")
    base = tmp_path_factory.mktemp("noyaml")
    inventory = lab_inventory(base / "hosts.yml", groups={"k3s_cluster": [node], "server": [node]})
    return node, inventory, base


def test_pyyaml_missing_then_installed_by_the_facts_role(k3s_without_pyyaml):
    node, inventory, base = k3s_without_pyyaml

    # opted out: nothing installed, the file named as unread in the plan, its port not guessed
    proc = audit(inventory, base / "off", "-e", "microseg_install_packages=false")
    plan = json.loads((base / "off" / (node.name + ".json")).read_text())
    assert not has_pyyaml(node)
    assert any("did not read %s" % CONFIG in text for text in plan["warnings"]), plan["warnings"]
    assert "7443" not in json.dumps(plan["rules"])
    outputs = [proc.stdout + proc.stderr]

    # check mode: says it would install, installs nothing
    proc = audit(inventory, base / "check", "--check")
    assert "python3-yaml would be installed" in proc.stdout and not has_pyyaml(node)
    outputs.append(proc.stdout + proc.stderr)

    # the role installs python3-yaml and reads the node again: the file's values are there
    proc = audit(inventory, base / "on")
    assert has_pyyaml(node)
    plan = json.loads((base / "on" / (node.name + ".json")).read_text())
    assert not any("did not read" in text for text in plan["warnings"]), plan["warnings"]
    assert "%s https-listen-port" % CONFIG in json.dumps(plan["rules"])
    assert plan["networks"]["pod_cidrs"]["cidrs"] == ["10.52.0.0/16"]
    outputs.append(proc.stdout + proc.stderr)

    # then nothing to install: the role neither installs nor reads the node twice (the steps that
    # would are not even included: one skipped task)
    proc = audit(inventory, base / "again")
    block = proc.stdout.split("Install PyYAML where the node has YAML files", 1)[1].split("TASK [", 1)[0]
    assert "skipping:" in block and "included:" not in block, block
    assert "Install the distribution's PyYAML package" not in proc.stdout and "Read the node again" not in proc.stdout
    outputs.append(proc.stdout + proc.stderr)

    # the token never left the node: not in any run's -vvv output, not in any plan
    for text in outputs + [path.read_text() for path in base.rglob("*") if path.is_file()]:
        assert TOKEN not in text
