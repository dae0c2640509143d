# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where the controller's SSH session comes from, when the module runs under become.

sshd puts SSH_CLIENT (and SSH_CONNECTION) into the environment of the session's shell, but sudo
resets the environment, so a module run with become (the usual way to reach real nodes) does not
see them. The processes between the session's shell and the module still carry them: walking
up from the module's process to the first ancestor whose environment has them finds the address
the controller connects from, which the plan admits SSH from ahead of every drop.
"""

from __future__ import annotations

import os

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect.cni import parse_environ

# a session's shell, sudo, the become shell, the module: a few levels, never the whole tree
MAX_DEPTH = 12


def parent_of(stat_text):
    """The parent pid from /proc/PID/stat's text. The command name (field 2) is in parentheses and
    may hold spaces and parentheses itself: the fields after it start after its last ')'."""
    fields = stat_text[stat_text.rindex(")") + 2:].split()
    return int(fields[1])


def ssh_client(start_pid, read_stat, read_environ, max_depth=MAX_DEPTH):
    """SSH_CLIENT ("ADDRESS PORT PORT") of the nearest process from start_pid up (itself first)
    whose environment has it, else one made from SSH_CONNECTION, else "".
    read_stat(pid) -> /proc/PID/stat text; read_environ(pid) -> bytes; either may raise OSError."""
    pid = start_pid
    for _level in range(max_depth):
        if pid <= 1:
            break
        try:
            env = parse_environ(read_environ(pid))
            if env.get("SSH_CLIENT"):
                return env["SSH_CLIENT"]
            if env.get("SSH_CONNECTION"):         # "CLIENT_ADDRESS CLIENT_PORT SERVER_ADDRESS SERVER_PORT"
                words = env["SSH_CONNECTION"].split()
                return " ".join([words[0], words[1], words[3]]) if len(words) == 4 else ""
            pid = parent_of(read_stat(pid))
        except (OSError, ValueError, IndexError):
            break
    return ""


def _read_stat(pid, proc="/proc"):
    with open(os.path.join(proc, str(pid), "stat")) as handle:
        return handle.read()


# not NodeReader's: a process that ends or cannot be read only ends this walk, it is no problem to report
def _read_environ(pid, proc="/proc"):
    with open(os.path.join(proc, str(pid), "environ"), "rb") as handle:
        return handle.read()


def controller_ssh_client():
    """SSH_CLIENT of this module's session: its own environment's, else an ancestor's."""
    return os.environ.get("SSH_CLIENT") or ssh_client(os.getpid(), _read_stat, _read_environ)
