# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The README's install block, taken from README.md and run as written by a new user: a fresh HOME,
a fresh checkout (the tracked files, no .venv, no .collections), ansible-core on PATH and no
ANSIBLE_* setting. Then the README's plan command from a directory of the user's. No root needed."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
HOSTS = ["cp1", "cp2", "cp3", "prometheus", "swarm1", "swarm2", "swarm3", "worker1", "worker2"]


def install_block():
    """The first sh block under the README's '## Install' heading."""
    text = (ROOT / "README.md").read_text()
    section = re.search(r"^## Install\b.*?$(.*?)^## ", text, re.M | re.S)
    assert section, "README.md has no '## Install' section"
    block = re.search(r"^```sh\n(.*?)^```", section.group(1), re.M | re.S)
    assert block, "the README's Install section has no sh block"
    return block.group(1)


def user_env(home, path):
    env = dict((key, value) for key, value in os.environ.items()
               if not key.startswith(("ANSIBLE_", "PYTHON", "VIRTUAL_ENV")))
    env.update(HOME=str(home), PATH=path, ANSIBLE_NOCOLOR="1")
    return env


def run(command, cwd, env, timeout=300):
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def user(tmp_path_factory):
    """A fresh checkout and HOME; ansible-core (ansible-galaxy, ansible-playbook) and make on PATH."""
    base = tmp_path_factory.mktemp("newuser")
    checkout, home, tools = base / "cluster_firewall", base / "home", base / "bin"
    for directory in (checkout, home, tools):
        directory.mkdir()
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=ROOT,
                           capture_output=True, check=True).stdout.split(b"\0")
    for name in filter(None, files):
        source = ROOT / os.fsdecode(name)
        if source.is_file():
            (checkout / os.fsdecode(name)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, checkout / os.fsdecode(name))
    # ansible-core's commands as a user's install puts them on PATH (their Python has netaddr, which
    # the README lists under the controller's requirements)
    for command in ("ansible-galaxy", "ansible-playbook", "ansible"):
        (tools / command).symlink_to(BIN / command)
    env = user_env(home, "%s:/usr/local/bin:/usr/bin:/bin" % tools)
    return checkout, home, env


def test_the_readme_install_block_installs_into_the_users_collections_path(user):
    checkout, home, env = user
    block = install_block()
    for attempt in ("first", "again, over the installed copy"):
        result = run(["bash", "-euo", "pipefail", "-c", block], cwd=checkout, env=env)
        assert result.returncode == 0, "%s run:\n%s\n%s\n%s" % (attempt, block, result.stdout, result.stderr)
        assert "Traceback" not in result.stdout + result.stderr
    installed = home / ".ansible" / "collections" / "ansible_collections" / "microseg" / "cluster_firewall"
    assert (installed / "MANIFEST.json").is_file() and not installed.is_symlink()
    assert list((checkout / "build").glob("microseg-cluster_firewall-*.tar.gz"))
    assert not (checkout / ".collections").exists() and not (checkout / ".venv").exists()
    # inside the checkout (its ansible.cfg) the installed collection is found too
    listing = run(["ansible-galaxy", "collection", "list", "microseg.cluster_firewall"], cwd=checkout, env=env)
    assert str(home / ".ansible" / "collections" / "ansible_collections") in listing.stdout, listing.stdout


def test_the_readme_plan_command_writes_plans_where_the_user_runs_it(user):
    checkout, home, env = user
    if not (home / ".ansible" / "collections" / "ansible_collections" / "microseg").exists():
        run(["bash", "-euo", "pipefail", "-c", install_block()], cwd=checkout, env=env)
    work = home / "my-cluster"
    work.mkdir(exist_ok=True)
    inventory = home / ".ansible" / "collections" / "ansible_collections" / "microseg" / "cluster_firewall" / \
        "inventories" / "example" / "hosts.yml"
    result = run(["ansible-playbook", "-i", str(inventory), "microseg.cluster_firewall.plan",
                  "-e", "microseg_plan_dir=plans"], cwd=work, env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert sorted(path.name for path in (work / "plans").glob("*.json")) == ["%s.json" % host for host in HOSTS]
    assert sorted(path.name for path in (work / "plans").glob("*.md")) == ["%s.md" % host for host in HOSTS]
    assert not list(home.glob(".ansible/collections/**/plans"))


def test_make_build_needs_no_development_venv(user):
    """make build with ansible-core on PATH: no .venv (the 700 MB development venv) is made."""
    checkout, _home, env = user
    result = run(["make", "build"], cwd=checkout, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert list((checkout / "build").glob("microseg-cluster_firewall-*.tar.gz"))
    assert not (checkout / ".venv").exists() and not (checkout / ".venv-build").exists()
