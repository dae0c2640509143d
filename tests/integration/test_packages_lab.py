# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A bare node (Debian without ipset, as Debian with Docker from the distribution or a kubeadm
node is): site.yml installs what the backend needs with the node's package manager and applies;
a second run changes nothing; check mode says what it would install and changes nothing; with
microseg_install_packages false the run fails naming the package, before anything changes.

No test traffic leaves the lab: the node's only package source is a local repository made of
the .deb files its image was built from (lab/image.sh keeps them in /var/cache/apt/archives)."""
from __future__ import annotations

import pytest
from conftest import lab_inventory, local_repository
from test_site_lab import playbook, snapshot

# The whitelist role without the facts role before it (a user's own play): no firewall facts say
# which commands the node has, so the role looks for them itself.
WHITELIST_ONLY = """
- name: The whitelist role alone
  hosts: all
  gather_facts: false
  become: true
  tasks:
    - name: Plan and apply
      ansible.builtin.include_role:
        name: microseg.cluster_firewall.whitelist
"""


LOOK_FOR_COMMANDS = "Find which of the backend's commands the node lacks"


def task_outcomes(stdout, title):
    """The outcome words (ok, skipping, changed...) the default callback printed for a task."""
    outcomes = []
    for block in stdout.split("TASK [")[1:]:
        if title in block.splitlines()[0]:
            outcomes += [line.split(":")[0] for line in block.splitlines()[1:] if line.endswith("]") and ": [" in line]
    return outcomes


@pytest.fixture(scope="module")
def bare(lab_nodes, tmp_path_factory):
    """A node without ipset whose only package source is the local repository."""
    node = lab_nodes("bare")
    local_repository(node, "ipset", "libipset13")
    node.sh("dpkg --purge ipset libipset13")
    assert node.sh("command -v ipset", check=False).returncode != 0
    inventory = lab_inventory(tmp_path_factory.mktemp("bare") / "hosts.yml", groups={"kube_node": [node]},
                              microseg_mode="host", microseg_state="block", microseg_backend="iptables")
    return node, inventory


def test_without_install_packages_the_run_fails_naming_the_package_and_changes_nothing(bare):
    node, inventory = bare
    before = snapshot(node)
    proc, recap = playbook("site.yml", inventory, "-e", "microseg_install_packages=false")
    assert proc.returncode != 0 and recap[node.name]["failed"] == 1, proc.stdout[-3000:]
    assert "ipset not found: install the ipset package" in proc.stdout
    assert snapshot(node) == before


def test_check_mode_says_what_it_would_install_and_installs_nothing(bare):
    node, inventory = bare
    before = snapshot(node)
    proc, recap = playbook("site.yml", inventory, "--check")
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert "ipset would be installed first" in proc.stdout
    # site.yml's facts say which commands the node has: the role does not look again
    assert task_outcomes(proc.stdout, LOOK_FOR_COMMANDS) == ["skipping"]
    assert node.sh("command -v ipset", check=False).returncode != 0
    assert snapshot(node) == before


def test_without_the_facts_role_the_whitelist_role_finds_the_missing_command_itself(bare, tmp_path):
    node, inventory = bare
    before = snapshot(node)
    play = tmp_path / "whitelist_only.yml"
    play.write_text(WHITELIST_ONLY)
    proc, recap = playbook(str(play), inventory, "--check")
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert task_outcomes(proc.stdout, LOOK_FOR_COMMANDS) == ["ok"]
    assert "ipset would be installed first" in proc.stdout
    assert snapshot(node) == before


def test_the_run_installs_ipset_applies_and_a_second_run_changes_nothing(bare):
    node, inventory = bare
    proc, recap = playbook("site.yml", inventory)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert node.sh("dpkg-query -W -f '${Status}' ipset").stdout == "install ok installed"
    assert "-j MICROSEG-INPUT" in node.sh("iptables-save -t filter").stdout
    assert "mseg-self-v4" in node.sh("ipset list -n").stdout
    proc, recap = playbook("site.yml", inventory)
    assert proc.returncode == 0 and recap[node.name]["changed"] == 0, proc.stdout[-4000:]
