# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection as a user gets it: the built tarball installed with ansible-galaxy into an empty
path, its FQCN playbook run from a directory with no ansible.cfg (Ansible's default settings, the
default callback and its JSON result format) against lab nodes."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import LAB_CONF, RECAP, ROOT, control_plane_with_listeners, lab_inventory

BIN = Path(sys.executable).parent
# A table line as the default callback prints a list item: "        "text",".
WIDTH = 140
# Run as a user runs it: the podman connection of containers.podman (not the lab's own).
USER_CONNECTION = "containers.podman.podman"


def default_env(collections):
    """os.environ without any ANSIBLE_* setting (the Makefile exports ANSIBLE_CONFIG), plus the
    installed collections path."""
    env = dict((key, value) for key, value in os.environ.items() if not key.startswith("ANSIBLE_"))
    env.update(ANSIBLE_COLLECTIONS_PATH=str(collections), CONTAINERS_CONF=LAB_CONF, ANSIBLE_NOCOLOR="1")
    return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    work = tmp_path_factory.mktemp("user")
    build = subprocess.run([str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(work), str(ROOT)],
                           capture_output=True, text=True, timeout=300, check=False)
    assert build.returncode == 0, build.stdout + build.stderr
    tarball = next(work.glob("microseg-cluster_firewall-*.tar.gz"))
    collections = work / "collections"
    env = default_env(collections)
    install = subprocess.run([str(BIN / "ansible-galaxy"), "collection", "install", "-p", str(collections), str(tarball)],
                             cwd=work, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert install.returncode == 0, install.stdout + install.stderr
    assert (collections / "ansible_collections" / "microseg" / "cluster_firewall" / "MANIFEST.json").exists()
    assert not (work / "ansible.cfg").exists()
    return work, env


def site(work, env, inventory, *extra):
    proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(inventory), "microseg.cluster_firewall.site"]
                          + list(extra), cwd=work, env=env, capture_output=True, text=True, timeout=900, check=False)
    recap = dict((host, int(changed)) for host, _ok, changed, _unreachable, _failed in RECAP.findall(proc.stdout))
    return proc, recap


def printed_tables(stdout):
    """The msg lists of the task that shows each node's plan, by host, parsed as the JSON they are."""
    tables = {}
    section = stdout.split("TASK [microseg.cluster_firewall.whitelist : Show this node's plan]", 1)[1].split("\nTASK ", 1)[0]
    for host, body in re.findall(r"^ok: \[(\S+)\] => (\{.*?^\})", section, re.M | re.S):
        tables[host] = json.loads(body)["msg"]
    return tables


def test_installed_collection_converges_with_default_settings_and_prints_readable_tables(installed, lab_nodes):
    work, env = installed
    cp, worker = lab_nodes("inst-cp"), lab_nodes("inst-w")
    inventory = lab_inventory(work / "hosts.yml", groups={"kube_control_plane": [cp], "kube_node": [worker]},
                              connection=USER_CONNECTION, microseg_mode="host", microseg_state="block",
                              microseg_features=["flannel_vxlan"])
    ip = control_plane_with_listeners(cp, 6443, 9999)
    assert worker.sh("nc -z -w 2 %s 9999" % ip, check=False).returncode == 0      # open before

    proc, recap = site(work, env, inventory)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert recap[cp.name] > 0
    # the collection that ran is the installed one
    assert str(work / "collections") in subprocess.run(
        [str(BIN / "ansible-galaxy"), "collection", "list", "microseg.cluster_firewall"], cwd=work, env=env,
        capture_output=True, text=True, timeout=120, check=False).stdout

    # each node prints its own table, one list item per line, within a bounded width
    tables = printed_tables(proc.stdout)
    assert sorted(tables) == sorted([cp.name, worker.name])
    for host, lines in tables.items():
        assert isinstance(lines, list) and lines[0].startswith("%s  roles: " % host)
        assert lines[0].endswith("kube_control_plane" if host == cp.name else "kube_node")
        assert not [line for line in lines if "\n" in line]
        assert "  everything else: DROP" in lines
        assert [line for line in lines if "base/essential: loopback, icmp_essential, established" in line]
        assert max(len(line) for line in lines) <= WIDTH - 10
    said = [line for line in proc.stdout.splitlines() if line.startswith("        \"")]    # every msg list item
    assert said and max(len(line) for line in said) <= WIDTH, max(said, key=len)
    # nothing repeated per node for a container connection without a reset or without systemd
    assert "Reset is not implemented" not in proc.stdout + proc.stderr
    assert proc.stdout.count("without systemd") == 1
    assert "2 node(s) without systemd: no unit restores their rules at boot;" in proc.stdout

    # it converged: the planned port passes, the negative control is blocked; a second run changes nothing
    assert worker.sh("nc -z -w 2 %s 6443" % ip, check=False).returncode == 0
    assert worker.sh("nc -z -w 2 %s 9999" % ip, check=False).returncode != 0
    proc, recap = site(work, env, inventory)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert recap and all(changed == 0 for changed in recap.values()), recap


def test_host_firewall_examples_run_from_a_users_playbook(installed, lab_nodes):
    """host_firewall's EXAMPLES, as ansible-doc shows them, pasted into a playbook of the user's:
    plan, apply with the iptables backend, commit-confirm in three steps, remove."""
    work, env = installed
    doc = subprocess.run([str(BIN / "ansible-doc"), "--json", "microseg.cluster_firewall.host_firewall"], cwd=work,
                         env=env, capture_output=True, text=True, timeout=120, check=True)
    examples = yaml.safe_load(json.loads(doc.stdout)["microseg.cluster_firewall.host_firewall"]["examples"])
    by_name = dict((task["name"], task) for task in examples)
    node = lab_nodes("inst-ex")
    inventory = lab_inventory(work / "examples-hosts.yml", groups={"kube_control_plane": [node]},
                              connection=USER_CONNECTION, microseg_mode="host", microseg_state="block")
    wanted = ["Plan this node's whitelist (nothing on the node changes)",
              "Apply it with the iptables backend, kept in /etc/microseg and restored at boot",
              "Remove everything the collection added"]
    (work / "examples.yml").write_text(yaml.safe_dump([{"name": "host_firewall's EXAMPLES", "hosts": "all",
                                                        "gather_facts": False, "tasks": [by_name[name] for name in wanted]}]))
    proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(inventory), "examples.yml"], cwd=work, env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert re.search(r"TASK \[Apply it with the iptables backend[^\]]*\] \*+\nchanged: ", proc.stdout), proc.stdout[-3000:]
    assert re.search(r"TASK \[Remove everything the collection added\] \*+\nchanged: ", proc.stdout)
    assert "microseg" not in node.sh("iptables-save").stdout.lower()


def test_site_tags_report_apply_and_verify(installed, lab_nodes):
    work, env = installed
    cp, worker = lab_nodes("tags-cp"), lab_nodes("tags-w")
    inventory = lab_inventory(work / "tags-hosts.yml", groups={"kube_control_plane": [cp], "kube_node": [worker]},
                              connection=USER_CONNECTION, microseg_mode="host", microseg_state="block",
                              microseg_features=["flannel_vxlan"])
    ip = control_plane_with_listeners(cp, 9999)
    before = cp.sh("iptables-save | grep -v '^#' || true").stdout

    proc, recap = site(work, env, inventory, "--tags", "report")         # detect, plan, print: nothing changes
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert "Show this node's plan" in proc.stdout and "Apply the whitelist" not in proc.stdout
    assert all(changed == 0 for changed in recap.values()) and cp.sh("iptables-save | grep -v '^#' || true").stdout == before

    proc, recap = site(work, env, inventory, "--tags", "apply")
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert recap[cp.name] > 0 and "Show this node's plan" not in proc.stdout
    assert worker.sh("nc -z -w 2 %s 9999" % ip, check=False).returncode != 0         # applied: the control is cut
    assert "as expected" not in proc.stdout and "TASK [Show the matrix" not in proc.stdout    # verify only when asked

    proc, recap = site(work, env, inventory, "--tags", "verify")
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert re.search(r"(\d+) flows, \1 as expected, 0 broken", proc.stdout), proc.stdout[-3000:]
    assert all(changed == 0 for changed in recap.values()), recap
