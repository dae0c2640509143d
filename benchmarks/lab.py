# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Lab nodes for the benchmarks: podman containers of the lab image (lab/image.sh), on their
own podman network, removed afterwards."""

import json
import os
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# systemd in a node holds about 10 inotify instances (systemd, journald, D-Bus...); with the
# kernel's default limit of 128 per user, nodes past the 12th or so hang at boot (path units fail,
# D-Bus never starts). The limit is raised while systemd nodes run and put back afterwards.
INOTIFY_LIMIT = "/proc/sys/fs/inotify/max_user_instances"
INOTIFY_PER_NODE = 16
ENV = dict(os.environ, CONTAINERS_CONF=os.path.join(ROOT, "lab", "containers.conf"))


def podman(*args, stdin=None):
    proc = subprocess.run(["podman"] + list(args), capture_output=True, text=True, env=ENV, input=stdin,
                          timeout=600, check=False)
    if proc.returncode != 0:
        raise RuntimeError("podman %s: %s" % (" ".join(args), proc.stderr.strip()))
    return proc.stdout


def image(kind="base"):
    out = subprocess.run([os.path.join(ROOT, "lab", "image.sh"), kind], capture_output=True, text=True,
                         env=ENV, timeout=900, check=True)
    return out.stdout.strip().splitlines()[-1]


class Nodes(object):
    """`with Nodes(prefix, count) as nodes:` - count fresh nodes; nodes.names, nodes.address(name)."""

    def __init__(self, prefix, count, kind="base"):
        """kind: the lab image (lab/image.sh); "systemd" boots systemd and waits for firewalld."""
        self.network = prefix
        self.kind = kind
        self.names = ["%s-%d" % (prefix, index) for index in range(count)]

    def __enter__(self):
        lab_image = image(self.kind)
        self.inotify_limit = None
        try:
            if self.kind == "systemd":
                self._raise_inotify_limit()
            podman("network", "create", self.network)
            command = ["/sbin/init"] if self.kind == "systemd" else ["/usr/bin/tini", "--", "sleep", "infinity"]
            for name in self.names:
                podman("run", "-d", "--name", name, "--hostname", name, "--network", self.network, "--privileged",
                       *(["--systemd=always"] if self.kind == "systemd" else []), lab_image, *command)
            if self.kind == "systemd":
                for name in self.names:
                    self.sh(name, "for i in $(seq 120); do [ \"$(firewall-cmd --state 2>/dev/null)\" = running ] "
                                  "&& exit 0; sleep 1; done; exit 1")
        except BaseException:
            self.__exit__()         # a node that did not come up: none are left behind
            raise
        return self

    def _raise_inotify_limit(self):
        with open(INOTIFY_LIMIT) as handle:
            current = int(handle.read())
        wanted = 128 + INOTIFY_PER_NODE * len(self.names)
        if current < wanted:
            with open(INOTIFY_LIMIT, "w") as handle:
                handle.write(str(wanted))
            self.inotify_limit = current

    def __exit__(self, *_exc):
        for name in self.names:
            subprocess.run(["podman", "rm", "-f", "-t", "0", name], capture_output=True, env=ENV, check=False)
        subprocess.run(["podman", "network", "rm", "-f", self.network], capture_output=True, env=ENV, check=False)
        if self.inotify_limit is not None:
            with open(INOTIFY_LIMIT, "w") as handle:
                handle.write(str(self.inotify_limit))
            self.inotify_limit = None

    def address(self, name):
        networks = json.loads(podman("inspect", name))[0]["NetworkSettings"]["Networks"]
        return networks[self.network]["IPAddress"]

    def sh(self, name, script, stdin=None):
        return podman("exec", "-i", name, "sh", "-c", script, stdin=stdin)


def inventory(nodes, path, **variables):
    """A Kubernetes-shaped inventory of the nodes: the first is the control plane (stacked etcd),
    the others are workers; each host's address is given (microseg_node_addresses)."""
    common = {"ansible_connection": "containers.podman.podman", "ansible_python_interpreter": "/usr/bin/python3",
              "ansible_become": False}
    common.update(variables)
    hosts = dict((name, {"microseg_node_addresses": [nodes.address(name)]}) for name in nodes.names)
    data = {"all": {"vars": common, "hosts": hosts, "children": {
        "kube_control_plane": {"hosts": {nodes.names[0]: {}}},
        "kube_node": {"hosts": dict((name, {}) for name in nodes.names[1:])},
    }}}
    with open(path, "w") as handle:
        json.dump(data, handle, indent=1)
    return path


def ansible_playbook(playbook, inventory_path, *extra):
    """Run a playbook with the JSON stdout callback; (seconds, parsed output)."""
    env = dict(ENV, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))
    start = time.perf_counter()
    proc = subprocess.run(["ansible-playbook", "-i", inventory_path, playbook] + list(extra), capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=3600, check=False)
    took = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError("%s failed (rc %d):\n%s%s" % (playbook, proc.returncode, proc.stdout[-4000:], proc.stderr[-2000:]))
    return took, json.loads(proc.stdout)
