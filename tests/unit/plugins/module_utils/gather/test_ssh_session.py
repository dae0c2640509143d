# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller's SSH session found from a module run under become (sudo reset the environment)."""
from __future__ import annotations

import pytest

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.gather import ssh_session


def table(processes):
    """processes: {pid: (parent, command, environment dict)} -> the two readers."""
    def read_stat(pid):
        if pid not in processes:
            raise FileNotFoundError(pid)
        parent, command, _env = processes[pid]
        return "%d (%s) S %d 1 1 0 -1 4194560" % (pid, command, parent)

    def read_environ(pid):
        if pid not in processes:
            raise FileNotFoundError(pid)
        return b"\0".join(("%s=%s" % item).encode() for item in processes[pid][2].items()) + b"\0"
    return read_stat, read_environ


SUDO_CHAIN = {
    900: (1, "sshd", {}),
    901: (900, "sshd", {}),                                                  # sshd: vagrant@notty
    950: (901, "sh", {"SSH_CLIENT": "192.168.121.1 51622 22", "USER": "vagrant"}),
    951: (950, "sudo", {"SSH_CLIENT": "192.168.121.1 51622 22", "USER": "vagrant"}),
    952: (951, "sh", {"USER": "root", "SUDO_USER": "vagrant"}),             # sudo reset the environment
    953: (952, "python3", {"USER": "root", "SUDO_USER": "vagrant"}),
}


def test_the_session_is_found_above_sudo():
    assert ssh_session.ssh_client(953, *table(SUDO_CHAIN)) == "192.168.121.1 51622 22"


def test_ssh_connection_when_only_it_is_there():
    chain = {10: (1, "sh", {"SSH_CONNECTION": "10.0.0.9 40000 10.0.0.5 2222"}), 11: (10, "python3", {})}
    assert ssh_session.ssh_client(11, *table(chain)) == "10.0.0.9 40000 2222"


def test_no_session_gives_empty():
    chain = {10: (1, "conmon", {}), 11: (10, "python3", {"PATH": "/usr/bin"})}
    assert ssh_session.ssh_client(11, *table(chain)) == ""


def test_a_vanished_or_unreadable_process_ends_the_walk():
    chain = {11: (10, "python3", {})}                        # the parent has exited
    assert ssh_session.ssh_client(11, *table(chain)) == ""


def test_the_walk_is_bounded():
    chain = dict((pid, (pid - 1, "sh", {})) for pid in range(2, 200))
    chain[2] = (1, "sh", {"SSH_CLIENT": "10.0.0.1 1 22"})
    assert ssh_session.ssh_client(199, *table(chain)) == ""                     # too far up
    assert ssh_session.ssh_client(199, *table(chain), max_depth=200) == "10.0.0.1 1 22"


@pytest.mark.parametrize("stat, parent", [
    ("953 (python3) S 952 953 901 0", 952),
    ("12 (a (weird) name) R 7 12 12 0", 7),
    ("13 (with space) S 1 13 13", 1),
])
def test_parent_of_reads_past_the_command_name(stat, parent):
    assert ssh_session.parent_of(stat) == parent
