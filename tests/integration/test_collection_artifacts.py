# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a user installs and reads: the built tarball and ansible-doc."""
from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ENV = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1")


def run(*command):
    return subprocess.run([str(BIN / command[0])] + list(command[1:]), cwd=ROOT, env=ENV,
                          capture_output=True, text=True, timeout=300, check=False)


def test_collection_builds_into_a_clean_tarball(tmp_path):
    result = run("ansible-galaxy", "collection", "build", "--output-path", str(tmp_path), ".")
    assert result.returncode == 0, result.stderr
    tarball = tmp_path / "microseg-cluster_firewall-0.1.0.tar.gz"
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
    for wanted in ("MANIFEST.json", "meta/runtime.yml", "plugins/module_utils/catalog.py",
                   "plugins/filter/whitelist_plan.yml", "roles/whitelist/meta/argument_specs.yml"):
        assert wanted in names
    assert not [name for name in names if name.startswith((".venv", ".collections", "build/"))]
    assert not [name for name in names if "__pycache__" in name]


@pytest.mark.parametrize("name", ["whitelist_plan", "plan_table", "cluster_inventory"])
def test_ansible_doc_shows_each_filter(name):
    result = run("ansible-doc", "-t", "filter", "microseg.cluster_firewall." + name)
    assert result.returncode == 0, result.stderr
    assert "microseg.cluster_firewall." + name in result.stdout
    assert "EXAMPLES" in result.stdout and "RETURN" in result.stdout


def test_ansible_doc_shows_the_role_variables():
    result = run("ansible-doc", "-t", "role", "microseg.cluster_firewall.whitelist")
    assert result.returncode == 0, result.stderr
    for variable in ("microseg_state", "microseg_mode", "microseg_scope", "microseg_whitelist", "microseg_blacklist"):
        assert variable in result.stdout
