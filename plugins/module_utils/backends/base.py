# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one surface every firewall backend implements on the node, the command runner they
share and their one error.

host_firewall knows backends only through this surface (and backends/hosts.py, which maps a
name of backends/registry.py to its class): a backend is a package, backends/<name>/, whose pure
half (spec.py: backends/spec.py's Spec) renders and whose node half (host.py) subclasses Backend.

A backend's change (what `change()` returns) is an object with `changed`, `actions`,
`reported`, `before`, `after` (lists of text, for --diff) and `apply()`; it is computed from
the desired and the live state before anything is touched.
"""

from __future__ import annotations

import re
from types import SimpleNamespace

C_LOCALE = {"LANG": "C", "LC_ALL": "C"}     # every command's output is parsed: one locale


class BackendError(Exception):
    """A command or a check failed; `details` (cmd, rc, stdout, stderr, ...) go to the task's result."""

    def __init__(self, msg, **details):
        Exception.__init__(self, msg)
        self.details = details


class Runner(object):
    """Runs the node's commands for a backend, with the C locale, and turns failures into
    BackendError naming the command (and the offending line of its input, when it says one)."""

    def __init__(self, module):
        self.module = module

    def path(self, name):
        return self.module.get_bin_path(name)

    def output(self, argv, data=None):
        """(rc, stdout, stderr), whatever the exit code."""
        if data is None:
            return self.module.run_command(argv, environ_update=C_LOCALE)
        return self.module.run_command(argv, data=data, binary_data=True, environ_update=C_LOCALE)

    def run(self, argv, data=None, what=None):
        """stdout of a command that must succeed."""
        rc, out, err = self.output(argv, data)
        if rc != 0:
            details = {"cmd": " ".join(argv), "rc": rc, "stdout": out, "stderr": err}
            line = re.search(r"line:? (\d+)", err or "")
            if line and data:
                lines = data.splitlines()
                number = int(line.group(1))
                if 0 < number <= len(lines):
                    details["offending_line"] = lines[number - 1]
            where = "; offending line: %s" % details["offending_line"] if "offending_line" in details else ""
            raise BackendError("%s failed (rc=%d): %s%s" % (what or argv[0], rc, (err or out).strip(), where), **details)
        return out


def no_change():
    """The change of a backend whose tools the node does not have, asked to remove: none of our
    objects can be there."""
    return SimpleNamespace(changed=False, actions=[], reported=[], before=[], after=[], apply=lambda: None)


class Backend(object):
    """One firewall backend on one node, for one host_firewall run.

    Class attributes: `spec`, the backend's pure half (backends/spec.py: its name, its files, those
    kept for the boot restore in restore order); `tools`, the binaries without which none of our
    objects can exist (a remove then has nothing to do). `files`: host_firewall's `ruleset`, every
    file of the spec ("" when not given); a key the spec does not name fails the run.
    """

    spec = None
    tools = ()

    def __init__(self, module, params, result):
        self.module = module
        self.params = params
        self.result = result
        self.runner = Runner(module)
        try:
            self.files = self.spec.ruleset(params.get("ruleset"))
        except ValueError as error:
            raise BackendError(str(error))

    @property
    def name(self):
        return self.spec.name

    @property
    def kept_files(self):
        """The names of the files kept in keep_dir for the boot restore, in restore order."""
        return self.spec.kept

    def change(self, remove):
        """A function computing the change from the live state (called again after applying, to
        read back). Sets what the result says of the backend (families, variant)."""
        raise NotImplementedError

    def revert(self, change):
        """A function that puts our objects back as they were before `change` (for commit-confirm)."""
        raise NotImplementedError

    def restore_commands(self, jump_comment):
        """The boot restore script's shell lines after `dir=KEEP_DIR` (they load the kept files)."""
        raise NotImplementedError

    def has_tools(self):
        return any(self.runner.path(tool) for tool in self.tools)
