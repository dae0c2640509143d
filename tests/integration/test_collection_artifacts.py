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
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ENV = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1")


def run(*command):
    return subprocess.run([str(BIN / command[0])] + list(command[1:]), cwd=ROOT, env=ENV,
                          capture_output=True, text=True, timeout=300, check=False)


def test_collection_builds_into_a_clean_tarball(tmp_path):
    result = run("ansible-galaxy", "collection", "build", "--output-path", str(tmp_path), ".")
    assert result.returncode == 0, result.stderr
    tarball = tmp_path / "microseg-cluster_firewall-0.2.0.tar.gz"
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
    for wanted in ("MANIFEST.json", "LICENSE", "meta/runtime.yml", "plugins/module_utils/catalog.py",
                   "plugins/filter/whitelist_plan.yml", "roles/whitelist/meta/argument_specs.yml",
                   "tests/unit/plugins/module_utils/backends/test_backend_contract.py"):
        assert wanted in names
    assert not [name for name in names if name.startswith((".venv", ".collections", "build/"))]
    # lab-only content needs the repository's lab, which the tarball does not carry; nor does it
    # carry development-only files (tool settings, unreleased changelog fragments, the docs generator)
    development = ("tests/integration", "inventories/lab", "lab/", "molecule/", "benchmarks/", "tests/galaxy",
                   "tests/sanity/", "tools/", "ee/", "awx/project", "changelogs/fragments")
    development_files = ("Makefile", "ansible.cfg", "pytest.ini", "requirements-dev.txt", ".ansible-lint", ".gitignore",
                         "execution-environment.yml", "changelogs/.plugin-cache.yaml", "tests/unit/test_benchmarks.py",
                         "tests/unit/test_docs.py", "tests/unit/test_ee.py", "tests/unit/test_awx_project.py", "ee")
    assert not [name for name in names if name.startswith(development) or name in development_files]
    for wanted in ("README.md", "CHANGELOG.md", "changelogs/changelog.yaml", "meta/execution-environment.yml",
                   "inventories/example/hosts.yml", "awx/site-survey.json", "docs/observe.md",
                   "awx/job-templates.yml", "awx/remove-survey.json", "tests/unit/test_awx.py"):
        assert wanted in names
    assert not [name for name in names if "__pycache__" in name]


@pytest.mark.parametrize("name", sorted(path.stem for path in (ROOT / "plugins" / "filter").glob("*.yml")))
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


def test_ansible_builder_creates_the_execution_environment_context(tmp_path):
    """execution-environment.yml (schema v3) with the collection's own dependencies, on AWX's own EE
    image unless the EE_BASE_IMAGE build argument names another; building the image needs an RPM
    repository and the base image's registry and is not run here (test_awx_ee_lab builds and runs
    the lab's Debian-based EE instead)."""
    result = run("ansible-galaxy", "collection", "build", "--force", "--output-path", "build", ".")
    assert result.returncode == 0, result.stderr
    context = tmp_path / "context"
    result = run("ansible-builder", "create", "-f", "execution-environment.yml", "-c", str(context))
    assert result.returncode == 0, result.stdout + result.stderr
    containerfile = (context / "Containerfile").read_text()
    assert 'ARG EE_BASE_IMAGE="quay.io/ansible/awx-ee:latest"' in containerfile
    assert "FROM $EE_BASE_IMAGE AS base" in containerfile
    assert "ansible-core==2.19.14" in containerfile and "ansible-runner==" in containerfile
    # the collection goes in from its built tarball, with the rest of requirements.yml
    assert "ansible-galaxy collection install $ANSIBLE_GALAXY_CLI_COLLECTION_OPTS -r requirements.yml" in containerfile
    requirements = yaml.safe_load((context / "_build" / "requirements.yml").read_text())
    assert {"name": "collections/microseg-cluster_firewall-0.2.0.tar.gz", "type": "file"} in requirements["collections"]
    assert (context / "_build" / "collections" / "microseg-cluster_firewall-0.2.0.tar.gz").exists()
    assert "netaddr" in (context / "_build" / "requirements.txt").read_text()
    assert "openssh-client" in (context / "_build" / "bindep.txt").read_text()
    # the collection carries its dependencies for EEs that install it from Galaxy
    with tarfile.open(ROOT / "build" / "microseg-cluster_firewall-0.2.0.tar.gz") as archive:
        names = archive.getnames()
    assert {"meta/execution-environment.yml", "requirements.txt", "bindep.txt"} <= set(names)


def test_module_defaults_set_the_shared_options_of_an_action_group(tmp_path):
    """meta/runtime.yml's action groups: one module_defaults entry reaches every module of the group."""
    conf = tmp_path / "net.d"
    conf.mkdir()
    (conf / "10-flannel.conflist").write_text('{"name": "cbr0", "cniVersion": "0.3.1", "plugins": [{"type": "flannel"}]}')
    play = tmp_path / "play.yml"
    play.write_text("""
- hosts: localhost
  connection: local
  gather_facts: false
  module_defaults:
    group/microseg.cluster_firewall.cni:
      cni_conf_dir: %s
  tasks:
    - microseg.cluster_firewall.cni_facts:
      register: cni
    - microseg.cluster_firewall.node_facts:
      register: node
    - ansible.builtin.assert:
        that:
          - "'%s/10-flannel.conflist' in (cni | to_json)"
          - "'%s/10-flannel.conflist' in (node | to_json)"
""" % (conf, conf, conf))
    result = run("ansible-playbook", "-i", "localhost,", str(play), "-e", "ansible_python_interpreter=" + sys.executable)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
