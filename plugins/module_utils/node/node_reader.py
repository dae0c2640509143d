# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading a node for the fact modules: files, /proc, commands. Every failure becomes a
problem named in the facts (and a module warning), never an exception."""

from __future__ import annotations

import os

MAX_FILE_BYTES = 4 * 1024 * 1024


def require_root(module):
    """Fail the module unless it runs as root: unprivileged, iptables-save, nft, the static-pod
    manifests and /proc/PID/environ cannot be read, and 'could not read' must never pass for
    'nothing there'."""
    if os.geteuid() != 0:
        module.fail_json(msg="%s reads the firewall (iptables-save, nft), the cluster's manifests and "
                             "/proc/PID/environ, which only root may: run it with become: true (the "
                             "collection's playbooks and roles do), or as root" % module._name.split(".")[-1])


class NodeReader(object):
    """outputs: {(command, args): (output, problem)} shared by the readers of one module run, so a
    command two fact gatherers need (nft list tables) runs once; each reader still names the
    problems it met."""

    def __init__(self, module, proc="/proc", outputs=None):
        self.module = module
        self.proc = proc
        self.problems = []
        self.outputs = {} if outputs is None else outputs

    def problem(self, text):
        if text not in self.problems:
            self.problems.append(text)
            self.module.warn(text)

    def read_text(self, path, required=False):
        """File text, or None when absent (a problem only if required) or unreadable (a problem)."""
        try:
            with open(path, "rb") as handle:
                data = handle.read(MAX_FILE_BYTES)
        except FileNotFoundError:
            if required:
                self.problem("%s: not found" % path)
            return None
        except (IOError, OSError) as error:
            self.problem("%s: cannot be read (%s)" % (path, error.strerror or error))
            return None
        return data.decode("utf-8", "replace")

    def list_dir(self, path):
        try:
            return sorted(os.listdir(path))
        except FileNotFoundError:
            return []
        except (IOError, OSError) as error:
            self.problem("%s: cannot be listed (%s)" % (path, error.strerror or error))
            return []

    def processes(self):
        """[(pid, argv)] of every process whose command line can be read."""
        found = []
        for name in self.list_dir(self.proc):
            if not name.isdigit():
                continue
            try:
                with open(os.path.join(self.proc, name, "cmdline"), "rb") as handle:
                    raw = handle.read()
            except (IOError, OSError):
                continue                      # gone, or a kernel thread: nothing to learn
            argv = [part for part in raw.decode("utf-8", "replace").split("\0") if part]
            if argv:
                found.append((int(name), argv))
        return found

    def environ(self, pid):
        try:
            with open(os.path.join(self.proc, str(pid), "environ"), "rb") as handle:
                return handle.read()
        except (IOError, OSError) as error:
            self.problem("%s/%s/environ: cannot be read (%s)" % (self.proc, pid, error.strerror or error))
            return None

    def run(self, name, args, what):
        """Output of a command (LANG=C), or None when the binary is missing or it fails (a problem)."""
        key = (name, tuple(args))
        if key not in self.outputs:
            self.outputs[key] = self._run(name, args, what)
        out, problem = self.outputs[key]
        if problem:
            self.problem(problem)
        return out

    def _run(self, name, args, what):
        binary = self.module.get_bin_path(name)
        if not binary:
            return None, "%s not found: %s not read" % (name, what)
        rc, out, err = self.module.run_command([binary] + list(args), environ_update={"LANG": "C", "LC_ALL": "C"})
        if rc != 0:
            return None, "%s failed (rc=%d): %s not read: %s" % (" ".join([name] + list(args)), rc, what, err.strip())
        return out, None
