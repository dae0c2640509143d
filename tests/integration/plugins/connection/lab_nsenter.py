# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A connection to a podman lab node through nsenter, for the lab tests only (not shipped).

Why: containers.podman's connection has no pipelining, so every module run costs five podman
calls (mount, mkdir, chmod, run, rm: about 0.8 s on two cores); the lab tests run about a
hundred playbooks. This connection enters the node's namespaces directly and pipes the module
to its Python: one process per module run. What podman exec gives a command is kept: the node's
namespaces (mount, UTS, IPC, network, PID, cgroup), its environment, and its capability
bounding set (setpriv, from the node's own util-linux). Not kept: the seccomp filter, and
users other than root (a test that needs another user uses containers.podman). make demo and
the molecule scenarios still use containers.podman.
"""
from __future__ import annotations

DOCUMENTATION = """
name: lab_nsenter
short_description: Run on a podman lab node through nsenter (lab tests only)
description:
  - Enters the namespaces of a running podman container (the lab node) with nsenter, with the
    container's environment and capability bounding set. Root only, on the container's host.
author: microseg.cluster_firewall lab tests
options:
  remote_addr:
    description: The container's name.
    default: inventory_hostname
    vars:
      - name: inventory_hostname
      - name: ansible_host
  pipelining:
    description: Pipe modules to the node's Python (one process per module run).
    type: boolean
    default: true
"""

import json
import subprocess

from ansible.errors import AnsibleConnectionFailure
from ansible.plugins.connection import ConnectionBase

# Linux capability numbers (include/uapi/linux/capability.h) to the names setpriv takes.
CAPABILITIES = ("chown dac_override dac_read_search fowner fsetid kill setgid setuid setpcap linux_immutable "
                "net_bind_service net_broadcast net_admin net_raw ipc_lock ipc_owner sys_module sys_rawio "
                "sys_chroot sys_ptrace sys_pacct sys_admin sys_boot sys_nice sys_resource sys_time sys_tty_config "
                "mknod lease audit_write audit_control setfcap mac_override mac_admin syslog wake_alarm "
                "block_suspend audit_read perfmon bpf checkpoint_restore").split()
FULL = (1 << len(CAPABILITIES)) - 1


class Connection(ConnectionBase):
    transport = "lab_nsenter"
    has_pipelining = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._pid = None
        self._env = None
        self._prefix = None

    def _connect(self):
        if self._connected:
            return self
        name = self.get_option("remote_addr")
        proc = subprocess.run(["podman", "inspect", "--format", "{{json .State.Pid}} {{json .Config.Env}}", name],
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise AnsibleConnectionFailure("lab node %s: %s" % (name, proc.stderr.strip()))
        pid, env = proc.stdout.split(" ", 1)
        self._pid = int(pid)
        if self._pid <= 0:
            raise AnsibleConnectionFailure("lab node %s is not running" % name)
        self._env = dict(item.split("=", 1) for item in json.loads(env) if "=" in item)
        with open("/proc/%d/status" % self._pid) as status:
            bounding = int([line.split()[1] for line in status if line.startswith("CapBnd:")][0], 16)
        self._prefix = ["nsenter", "-t", str(self._pid), "-m", "-u", "-i", "-n", "-p", "-C", "--"]
        if bounding & FULL != FULL:
            kept = [name for number, name in enumerate(CAPABILITIES) if bounding >> number & 1]
            bounding_set = ",".join(["-all"] + ["+" + cap for cap in kept])
            self._prefix += ["setpriv", "--inh-caps", "-all", "--bounding-set", bounding_set, "--"]
        self._connected = True
        return self

    def _run(self, argv, stdin=None):
        self._connect()
        proc = subprocess.run(self._prefix + argv, input=stdin, capture_output=True, env=self._env, cwd="/",
                              check=False)
        return proc.returncode, proc.stdout, proc.stderr

    def exec_command(self, cmd, in_data=None, sudoable=True):
        super().exec_command(cmd, in_data=in_data, sudoable=sudoable)
        return self._run(["/bin/sh", "-c", cmd], stdin=in_data if in_data is not None else b"")

    def put_file(self, in_path, out_path):
        super().put_file(in_path, out_path)
        with open(in_path, "rb") as source:
            rc, _out, err = self._run(["/bin/sh", "-c", 'cat > "$0"', out_path], stdin=source.read())
        if rc != 0:
            raise AnsibleConnectionFailure("copying to %s failed: %s" % (out_path, err))

    def fetch_file(self, in_path, out_path):
        super().fetch_file(in_path, out_path)
        rc, out, err = self._run(["cat", in_path])
        if rc != 0:
            raise AnsibleConnectionFailure("reading %s failed: %s" % (in_path, err))
        with open(out_path, "wb") as target:
            target.write(out)

    def close(self):
        self._connected = False
