# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Integration helpers: run the collection through the real ansible CLI, and lab fixtures.

Lab fixtures need root and the Debian packages of lab/deps.sh (make test installs them).
They fail, not skip, when those are missing: a lab test that silently skips proves nothing.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items):
    """Every test in this folder is an integration test: marked lab, so `make unit`
    (-m "not lab and not vm") leaves it out and `make lab` (-m lab) runs it."""
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.lab)


# The lab's own connection (plugins/connection/lab_nsenter.py: why, and what it keeps of podman exec).
LAB_CONNECTION_PLUGINS = str(HERE / "plugins" / "connection")


def ansible_env(**extra):
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_CONNECTION_PLUGINS=LAB_CONNECTION_PLUGINS)
    env.update(extra)
    return env


def run_module(module, args="", host="localhost", inventory="localhost,", connection="local", check=False, extra=()):
    """Run one module with the ansible CLI; return (rc, result dict of that host)."""
    command = [str(BIN / "ansible"), host, "-i", inventory, "-c", connection,
               "-m", "microseg.cluster_firewall." + module, "-a", args] + list(extra)
    if check:
        command.append("--check")
    if connection == "local":
        # like Ansible's implicit localhost: the controller's own Python, not a discovered one
        command += ["-e", "ansible_python_interpreter=%s" % sys.executable]
    env = ansible_env(ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="json")
    proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    try:
        output = json.loads(proc.stdout)
    except ValueError:
        raise AssertionError("ansible did not return JSON:\n%s\n%s" % (proc.stdout, proc.stderr))
    hosts = output["plays"][0]["tasks"][0]["hosts"]
    return proc.returncode, hosts[host if host in hosts else next(iter(hosts))]


# PLAY RECAP lines: host, ok, changed, unreachable, failed.
RECAP = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def playbook(name, inventory, *extra):
    """Run one of playbooks/ as a user does; return the process and the recap by host."""
    proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(inventory), str(ROOT / "playbooks" / name)]
                          + list(extra), cwd=ROOT, env=ansible_env(CONTAINERS_CONF=LAB_CONF), capture_output=True,
                          text=True, timeout=900, check=False)
    recap = dict((host, {"ok": int(ok), "changed": int(changed), "unreachable": int(unreachable), "failed": int(failed)})
                 for host, ok, changed, unreachable, failed in RECAP.findall(proc.stdout))
    return proc, recap


def reachable(peer, ip, port):
    """Whether a TCP connection from the lab node peer to ip:port is accepted (2 s)."""
    return peer.sh("nc -z -w 2 %s %d" % (ip, port), check=False).returncode == 0


def require_lab():
    if os.geteuid() != 0:
        pytest.fail("lab tests need root (network namespaces, dockerd, podman)")
    missing = [tool for tool in ("ip", "nsenter", "dockerd", "docker", "iptables") if not shutil.which(tool)]
    if missing:
        pytest.fail("lab tools missing: %s; run lab/deps.sh" % ", ".join(missing))


def sh(*command, check=True, **kwargs):
    return subprocess.run(list(command), capture_output=True, text=True, check=check, timeout=120, **kwargs)


@pytest.fixture(scope="module")
def dockerd(tmp_path_factory):
    """A real dockerd in a network namespace of its own (its rules never reach the host's
    netfilter), on a veth pair addressed from the lab range. Yields the socket path."""
    require_lab()
    name = "msegdock%d" % os.getpid()
    base = tmp_path_factory.mktemp("dockerd")
    sock = base / "docker.sock"
    sh("ip", "netns", "add", name)
    process = None
    try:
        for command in (["ip", "link", "set", "lo", "up"],
                        ["ip", "link", "add", "lab0", "type", "veth", "peer", "name", "lab1"],
                        ["ip", "addr", "add", "10.213.0.2/24", "dev", "lab0"],
                        ["ip", "link", "set", "lab0", "up"], ["ip", "link", "set", "lab1", "up"]):
            sh("ip", "netns", "exec", name, *command)
        log = open(base / "dockerd.log", "w")
        # nsenter --net only: `ip netns exec` would remount /sys and hide the cgroup mounts.
        process = subprocess.Popen(
            ["nsenter", "--net=/var/run/netns/" + name, "dockerd", "--data-root", str(base / "data"),
             "--exec-root", str(base / "exec"), "--pidfile", str(base / "docker.pid"), "-H", "unix://%s" % sock],
            stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while sh("docker", "-H", "unix://%s" % sock, "version", check=False).returncode != 0:
            if process.poll() is not None or time.time() > deadline:
                raise AssertionError("dockerd did not start:\n" + (base / "dockerd.log").read_text()[-3000:])
            time.sleep(0.5)
        yield str(sock)
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        sh("ip", "netns", "delete", name, check=False)


def docker_cli(sock, *args):
    return sh("docker", "-H", "unix://%s" % sock, *args)


LAB_CONF = str(ROOT / "lab" / "containers.conf")


def podman(*args, check=True, stdin=None):
    env = dict(os.environ, CONTAINERS_CONF=LAB_CONF)
    return subprocess.run(["podman"] + list(args), capture_output=True, text=True, check=check, timeout=300,
                          env=env, input=stdin)


def build_image(kind):
    """A lab image of this kind (lab/image.sh: built once per machine); its name."""
    proc = subprocess.run([str(ROOT / "lab" / "image.sh"), kind], capture_output=True, text=True, timeout=900,
                          check=False)
    if proc.returncode != 0:
        pytest.fail("lab/image.sh %s failed:\n%s" % (kind, proc.stderr[-3000:]))
    return proc.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="session")
def lab_image():
    """The lab's base image."""
    require_lab()
    if not shutil.which("podman") or not shutil.which("debootstrap"):
        pytest.fail("podman/debootstrap missing; run lab/deps.sh")
    return build_image("base")


@pytest.fixture(scope="session")
def systemd_image(lab_image):
    """The lab's image with systemd as PID 1, D-Bus, firewalld and ufw."""
    return build_image("systemd")


@pytest.fixture(scope="session")
def trixie_image(lab_image):
    """Debian 13 nodes, next to the other images' Debian 12."""
    return build_image("trixie")


def control_plane_with_listeners(node, *ports):
    """Shape a lab node like a kubeadm control plane as far as its firewall goes: kube-proxy's jump
    first in INPUT (it must stay first and never reach our files), and a listener on each port.
    Returns the node's lab address."""
    node.sh("iptables -N KUBE-NODEPORTS && iptables -I INPUT 1 -m comment --comment "
            "'kubernetes health check service ports' -j KUBE-NODEPORTS")
    for port in ports:
        node.sh("setsid nc -l -k -p %d >/dev/null 2>&1 < /dev/null &" % port)
    return node.sh("ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1").stdout.strip()


def lab_inventory(path, hosts=(), groups=None, connection="lab_nsenter", **variables):
    """Write a YAML inventory of lab nodes (they are root already, so no become); variables go to
    all, groups is {group: [node, ...]}. connection: lab_nsenter (one process per module run; the
    environment ansible_env() makes finds it), or containers.podman.podman, as a user's lab has."""
    common = {"ansible_connection": connection, "ansible_python_interpreter": "/usr/bin/python3",
              "ansible_become": False}
    common.update(variables)
    inventory = {"all": {"vars": common, "hosts": dict((node.name, {}) for node in hosts),
                         "children": dict((group, {"hosts": dict((node.name, {}) for node in members)})
                                          for group, members in (groups or {}).items())}}
    path.write_text(yaml.safe_dump(inventory, sort_keys=False))
    return path


class LabNode(object):
    """A lab node: a podman container with its own network namespace (NET_ADMIN)."""

    def __init__(self, name):
        self.name = name

    def sh(self, script, check=True):
        proc = podman("exec", self.name, "sh", "-c", script, check=False)
        if check and proc.returncode != 0:
            raise AssertionError("%s: %s\n%s%s" % (self.name, script, proc.stdout, proc.stderr))
        return proc

    def write(self, path, content):
        podman("exec", "-i", self.name, "sh", "-c", 'mkdir -p "$(dirname "%s")" && cat > "%s"' % (path, path),
               stdin=content)

    def run_module(self, module, args="", check=False):
        return run_module(module, args, host=self.name, inventory=self.name + ",",
                          connection="lab_nsenter", check=check,
                          extra=["-e", "ansible_python_interpreter=/usr/bin/python3"])


@pytest.fixture(scope="module")
def lab_nodes(lab_image):
    """Factory of lab nodes on one podman network; everything is removed afterwards."""
    network = "msegtest%d" % os.getpid()
    podman("network", "create", network)
    made = []

    def make(name, privileged=False, image=None, boot=None):
        """image: another lab image; boot: run /sbin/init as PID 1 (the default for another image:
        the systemd image's), else the node only sleeps."""
        full = "%s-%s" % (network, name)
        boot = image is not None if boot is None else boot
        command = ["/sbin/init"] if boot else ["sleep", "infinity"]
        systemd = ["--systemd=always", "--cap-add", "NET_RAW"] if boot else []
        podman("run", "-d", "--name", full, "--hostname", name, "--network", network, *systemd,
               *(["--privileged"] if privileged else ["--cap-add", "NET_ADMIN"]), image or lab_image, *command)
        made.append(full)
        return LabNode(full)

    yield make
    for name in made:
        podman("rm", "-f", "-t", "0", name, check=False)
    podman("network", "rm", "-f", network, check=False)


# A flat apt repository of the given packages' debs from the image's cache: Packages written from
# each deb's control fields (the image has no dpkg-dev), the only source apt knows afterwards, so
# that a test can remove a package and see the role install it again without the network.
LOCAL_REPOSITORY = r"""
set -eu
repo=/var/local/microseg-debs
mkdir -p $repo
for package in %s; do cp /var/cache/apt/archives/${package}_*.deb $repo/; done
cd $repo
: > Packages
for deb in *.deb; do
  dpkg-deb -f "$deb" >> Packages
  printf 'Filename: ./%%s\nSize: %%s\nSHA256: %%s\n\n' "$deb" "$(stat -c %%s "$deb")" \
    "$(sha256sum "$deb" | cut -d' ' -f1)" >> Packages
done
rm -f /etc/apt/sources.list.d/*
echo "deb [trusted=yes] file:$repo ./" > /etc/apt/sources.list
apt-get update -qq
"""


def local_repository(node, *packages):
    """Make the node's only package source a local repository of these packages' cached debs."""
    node.sh(LOCAL_REPOSITORY % " ".join(packages))
