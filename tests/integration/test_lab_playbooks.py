# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's and the molecule scenarios' playbooks parse against the inventory each is run with.

`make molecule` runs the podman scenarios for real; the vagrant one needs Vagrant and libvirt,
which CI does not have, so this syntax check is what CI can say about it."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, ansible_env

SCENARIOS = sorted(path.parent.name for path in (ROOT / "molecule").glob("*/molecule.yml"))


def scenario_inventory(scenario, tmp_path):
    """The inventory molecule would write: each platform in its groups, the links' group_vars."""
    config = yaml.safe_load((ROOT / "molecule" / scenario / "molecule.yml").read_text())
    groups = {}
    for platform in config["platforms"]:
        for group in platform.get("groups", []):
            groups.setdefault(group, {"hosts": {}})["hosts"][platform["name"]] = {}
    inventory = tmp_path / "inventory"
    inventory.mkdir()
    (inventory / "hosts.yml").write_text(yaml.safe_dump({"all": {"children": groups}}))
    for kind, target in config["provisioner"].get("inventory", {}).get("links", {}).items():
        (inventory / kind).symlink_to((ROOT / "molecule" / scenario / target).resolve())
    return config, inventory


def syntax_check(playbook, inventory):
    return subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "--syntax-check", "-i", str(inventory),
                           str(playbook)], cwd=ROOT, env=ansible_env(), capture_output=True, text=True, timeout=300,
                          check=False)


def test_every_scenario_is_in_make_test_or_documented_as_not():
    makefile = (ROOT / "Makefile").read_text()
    in_ci = next(line for line in makefile.splitlines() if line.startswith("SCENARIOS :=")).split(":=")[1].split()
    assert sorted(in_ci + ["vagrant"]) == SCENARIOS


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario_playbooks_parse(scenario, tmp_path):
    config, inventory = scenario_inventory(scenario, tmp_path)
    for step, name in sorted(config["provisioner"]["playbooks"].items()):
        result = syntax_check(ROOT / "molecule" / scenario / name, inventory)
        assert result.returncode == 0, "%s %s: %s" % (scenario, step, result.stdout[-2000:] + result.stderr[-2000:])


@pytest.mark.parametrize("playbook", ["lab/up.yml", "lab/down.yml"])
def test_lab_playbooks_parse(playbook):
    result = syntax_check(ROOT / playbook, ROOT / "inventories" / "lab")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
