# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A job run inside an execution environment, as AWX runs it: ansible-runner starts the EE
image with podman (process isolation), the private data directory holds the user's project
(awx/project/site.yml, which imports microseg.cluster_firewall.site from the collection in the
image), the inventory, the survey's answers and the machine credential's SSH key; the EE
container reaches the lab nodes over SSH on their podman network.

The image is the lab's proof EE (ee/Containerfile, built by ee/build.sh when its inputs changed):
ansible-builder's definition for AWX's own base (execution-environment.yml) needs an RPM
repository and a registry, which these machines do not reach."""
from __future__ import annotations

import ipaddress
import json
import os
import shutil
import subprocess

import ansible_runner
import pytest
import yaml
from conftest import BIN, LAB_CONF, ROOT, podman, reachable
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

IN_IMAGE = "/usr/share/ansible/collections/ansible_collections/microseg/cluster_firewall/"


@pytest.fixture(scope="module")
def ee_image(lab_image):
    proc = subprocess.run([str(ROOT / "ee" / "build.sh")], capture_output=True, text=True, timeout=900, check=False,
                          env=dict(os.environ, VENV_BIN=str(BIN)))
    if proc.returncode != 0:
        pytest.fail("ee/build.sh failed:\n%s" % proc.stderr[-3000:])
    return proc.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def ssh_key():
    """The machine credential: a key pair (private key in OpenSSH form, public key line)."""
    key = ed25519.Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    return private, public


def ssh_node(node, public_key, *listen):
    """Make a lab node reachable over SSH as root with the key (the base image has openssh-server,
    its host keys generated at install), start TCP listeners; return its address."""
    node.sh("mkdir -p -m 700 /root/.ssh /run/sshd && echo '%s' > /root/.ssh/authorized_keys && /usr/sbin/sshd" % public_key)
    for port in listen:
        node.sh("setsid nc -l -k -p %d >/dev/null 2>&1 < /dev/null &" % port)
    return node.sh("ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1").stdout.strip()


def network_of(node):
    name = podman("inspect", "--format", "{{range $name, $net := .NetworkSettings.Networks}}{{$name}}{{end}}",
                  node.name).stdout.strip()
    subnet = podman("network", "inspect", "--format", "{{range .Subnets}}{{.Subnet}}{{end}}", name).stdout.strip()
    return name, subnet


def private_data_dir(path, private_key, hosts, **survey):
    """A job's private data directory as AWX writes it: the project checkout, the inventory, the
    survey's answers as extra vars, the machine credential's key (env/ssh_key: ansible-runner
    loads it into an ssh-agent inside the EE), environment and settings."""
    pdd = path
    shutil.copytree(ROOT / "awx" / "project", pdd / "project")
    (pdd / "inventory").mkdir()
    (pdd / "inventory" / "hosts").write_text(yaml.safe_dump({"all": {
        "vars": {"ansible_user": "root", "ansible_python_interpreter": "/usr/bin/python3", "ansible_become": False},
        "children": dict((group, {"hosts": dict((name, {"ansible_host": address}) for name, address in members)})
                         for group, members in hosts.items())}}))
    (pdd / "env").mkdir()
    (pdd / "env" / "extravars").write_text(yaml.safe_dump(survey))
    (pdd / "env" / "ssh_key").write_text(private_key)
    # AWX turns host key checking off for its jobs (its default ANSIBLE_HOST_KEY_CHECKING)
    (pdd / "env" / "envvars").write_text(yaml.safe_dump({"ANSIBLE_HOST_KEY_CHECKING": "False"}))
    (pdd / "env" / "settings").write_text(yaml.safe_dump({"job_timeout": 900, "suppress_ansible_output": True}))
    return pdd


def run_job(pdd, image, network, *options, playbook="site.yml"):
    return ansible_runner.run(private_data_dir=str(pdd), playbook=playbook, quiet=True, process_isolation=True,
                              process_isolation_executable="podman", container_image=image,
                              container_options=["--network", network] + list(options))


def output(job):
    return job.stdout.read()[-4000:]


def test_site_yml_as_an_awx_job_inside_the_execution_environment(lab_nodes, ee_image, ssh_key, tmp_path,
                                                                 monkeypatch):
    monkeypatch.setenv("CONTAINERS_CONF", LAB_CONF)        # ansible-runner's podman: the lab's settings
    private, public = ssh_key
    cp, w1 = lab_nodes("ee-cp"), lab_nodes("ee-w1")
    cp_ip = ssh_node(cp, public, 9100, 9200)
    w1_ip = ssh_node(w1, public)
    network, subnet = network_of(cp)
    assert reachable(w1, cp_ip, 9200)                      # open before the job: the block below is the job's
    # The survey's answers. microseg_management_cidrs admits the range the jobs' containers come
    # from: the controller address the plan admits by itself (SSH_CLIENT) is this job's container,
    # and the next job's has another address (the lock-out test below).
    survey = {"microseg_mode": "host", "microseg_state": "block", "microseg_scope": "node_ip",
              "microseg_management_cidrs": subnet,           # a survey text answer: one CIDR as a string
              "microseg_whitelist_json": '[{"port": 9100, "from": ["kube_node"], "comment": "node-exporter"}]',
              "microseg_blacklist_json": "[]"}
    pdd = private_data_dir(tmp_path / "job", private, {"kube_control_plane": [("ee-cp", cp_ip)],
                                                       "kube_node": [("ee-w1", w1_ip)]}, **survey)
    job = run_job(pdd, ee_image, network)
    assert job.status == "successful" and job.rc == 0, output(job)
    events = list(job.events)
    applied = [event for event in events if event["event"] == "runner_on_ok"
               and event["event_data"].get("task_action") == "microseg.cluster_firewall.host_firewall"
               and event["event_data"]["res"].get("confirm_token")]
    assert sorted(event["event_data"]["host"] for event in applied) == ["ee-cp", "ee-w1"]
    # the tasks ran from the collection installed in the image (the project holds only the wrapper)
    assert all(event["event_data"]["task_path"].startswith(IN_IMAGE) for event in applied), applied[0]["event_data"]
    assert not job.stats["failures"] and all(job.stats["changed"].get(host) for host in ("ee-cp", "ee-w1"))
    # rules on the node: the survey's whitelist admits 9100 from the worker, 9200 is not in the plan
    assert "--dport 9100" in cp.sh("iptables-save -t filter").stdout
    assert reachable(w1, cp_ip, 9100)
    assert not reachable(w1, cp_ip, 9200)
    # the next job (a new EE container, another address in the management range): nothing changes
    again = run_job(pdd, ee_image, network)
    assert again.status == "successful", output(again)
    assert not again.stats["changed"] and not again.stats["failures"], again.stats
    # the other job templates of awx/job-templates.yml, with their surveys' answers: audit (the same
    # answers as site; changes nothing), observe (what the plan did not admit: the probe of 9200
    # above), remove (the node as it was)
    audit = run_job(pdd, ee_image, network, playbook="audit.yml")
    assert audit.status == "successful" and not audit.stats["changed"], output(audit)
    (pdd / "env" / "extravars").write_text(yaml.safe_dump({"microseg_observe_reset": "false",
                                                           "microseg_observe_dir": "observe"}))
    observe = run_job(pdd, ee_image, network, playbook="observe.yml")
    assert observe.status == "successful", output(observe)
    # the files are written in the EE, in the job's project directory (ansible-runner's bind mount here)
    records = json.loads((pdd / "project" / "observe" / "observed.json").read_text())["nodes"]["ee-cp"]["records"]
    assert [record for record in records if (record["proto"], record["port"], record["source"], record["host"])
            == ("tcp", 9200, w1_ip, "ee-w1")], records
    (pdd / "env" / "extravars").write_text(yaml.safe_dump({"microseg_iptables_variant": "auto"}))
    remove = run_job(pdd, ee_image, network, playbook="remove.yml")
    assert remove.status == "successful" and remove.stats["changed"], output(remove)
    assert "9100" not in cp.sh("iptables-save -t filter").stdout and reachable(w1, cp_ip, 9200)
    # negative control: without the collection in the EE the same job fails before touching a node
    (pdd / "env" / "envvars").write_text(yaml.safe_dump({"ANSIBLE_HOST_KEY_CHECKING": "False",
                                                         "ANSIBLE_COLLECTIONS_PATH": "/nonexistent"}))
    (pdd / "env" / "extravars").write_text(yaml.safe_dump(survey))
    missing = run_job(pdd, ee_image, network)
    assert missing.status == "failed" and missing.rc != 0
    assert "Could not find or access '/runner/project/microseg.cluster_firewall.site'" in missing.stdout.read()


def test_the_next_job_is_locked_out_unless_the_management_cidrs_admit_the_jobs_addresses(
        lab_nodes, ee_image, ssh_key, tmp_path, monkeypatch):
    """Each AWX job runs in a new EE container (pod), with an address of its own. The plan admits SSH
    from the controller's address by itself, which is the current job's container: the next job,
    from another address, is locked out - unless microseg_management_cidrs admits the range the
    jobs come from. Two fixed EE addresses (podman --ip) stand for two jobs' containers."""
    monkeypatch.setenv("CONTAINERS_CONF", LAB_CONF)
    private, public = ssh_key
    cp, w1 = lab_nodes("ee-lock-cp"), lab_nodes("ee-lock-w1")
    hosts = {"kube_control_plane": [("ee-lock-cp", ssh_node(cp, public))],
             "kube_node": [("ee-lock-w1", ssh_node(w1, public))]}
    network, subnet = network_of(cp)
    first, second = (str(address) for address in list(ipaddress.ip_network(subnet).hosts())[-3:-1])
    survey = {"microseg_mode": "host", "microseg_state": "block", "microseg_scope": "node_ip"}
    pdd = private_data_dir(tmp_path / "job", private, hosts, **survey)
    job = run_job(pdd, ee_image, network, "--ip", first)
    assert job.status == "successful", output(job)
    locked_out = run_job(pdd, ee_image, network, "--ip", second)
    assert locked_out.status == "failed"
    assert sorted(locked_out.stats["dark"]) == ["ee-lock-cp", "ee-lock-w1"], locked_out.stats
    # the way back: a job from an address still admitted, with the jobs' range in the survey answer
    (pdd / "env" / "extravars").write_text(yaml.safe_dump(dict(survey, microseg_management_cidrs=subnet)))
    fixed = run_job(pdd, ee_image, network, "--ip", first)
    assert fixed.status == "successful", output(fixed)
    after = run_job(pdd, ee_image, network, "--ip", second)
    assert after.status == "successful" and not after.stats["changed"], output(after)
