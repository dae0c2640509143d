# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every molecule scenario runs in `make test`, and the lab's and the scenarios' playbooks parse.

`make test` runs the podman scenarios (`make molecule`) beside the lab tests and the vagrant one
on real VMs (`make test-vm`) as its last stage; the syntax check here fails in seconds where those
take minutes."""
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


def make_recipe(makefile, target):
    """The recipe lines of one Makefile target (tab-indented lines after `target:`)."""
    lines = makefile.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(target + ":"))
    recipe = []
    for line in lines[start + 1:]:
        if not line.startswith("\t"):
            break
        recipe.append(line.strip())
    return recipe


def scenarios_make_test_runs(makefile):
    """The scenarios `make test` runs: its stages (lab/stages.sh, `a+b` side by side), and of
    those, `molecule` (the Makefile's SCENARIOS) and `test-vm` (the scenario it names)."""
    stages_line = next(line for line in make_recipe(makefile, "test") if "lab/stages.sh" in line)
    stages = {stage for group in stages_line.split("lab/stages.sh", 1)[1].split() for stage in group.split("+")}
    runs = []
    if "molecule" in stages:
        assert "lab/molecule.sh $(SCENARIOS)" in make_recipe(makefile, "molecule")
        runs += next(line for line in makefile.splitlines() if line.startswith("SCENARIOS :=")).split(":=")[1].split()
    if "test-vm" in stages:
        vm_line = next(line for line in make_recipe(makefile, "test-vm") if "lab/molecule.sh" in line)
        runs += vm_line.split("lab/molecule.sh", 1)[1].split(";")[0].split()
    return sorted(runs)


def test_every_scenario_runs_in_make_test():
    assert scenarios_make_test_runs((ROOT / "Makefile").read_text()) == SCENARIOS


def test_a_scenario_dropped_from_make_test_is_seen():
    """Negative control: without the test-vm stage the vagrant scenario is missing."""
    makefile = (ROOT / "Makefile").read_text().replace("test-vm+sanity", "sanity")
    assert "vagrant" not in scenarios_make_test_runs(makefile)
    assert scenarios_make_test_runs(makefile) != SCENARIOS


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
