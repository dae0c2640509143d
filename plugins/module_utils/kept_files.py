# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rulesets kept on the node for the boot restore (our objects only, never anyone else's).

host_firewall checks that the directory can be written before it changes the live firewall
(a read-only /etc or a full disk fails the node there, with nothing changed), and writes the
files only once the live rules are final: right after applying, or with commit-confirm only
after the confirm, so a rollback never leaves the boot restore with the rules it undid.
Each file is replaced atomically (a temporary file in the same directory, renamed over it).
"""

from __future__ import annotations

import os
import stat
import tempfile

DIR_MODE = 0o750
FILE_MODE = 0o640

# backend -> (file name, the host_firewall option that holds its text), in restore order
FILES = {
    "iptables": (("ipsets", "ipsets"), ("ipv4.rules", "ipv4_rules"), ("ipv6.rules", "ipv6_rules")),
    "nftables": (("microseg.nft", "nft_ruleset"),),
}


class KeepError(Exception):
    pass


def desired_files(backend, params):
    """{file name: text} for the backend, from host_firewall's options."""
    return dict((name, params[option]) for name, option in FILES[backend])


def _error(directory, error, consequence):
    return KeepError("cannot keep the rulesets in %s for the boot restore: %s (%s)" % (directory, error, consequence))


def prepare(directory, check_mode):
    """Make sure the directory exists and takes a new file; return what was (or would be) done."""
    actions = []
    try:
        if not os.path.isdir(directory):
            actions.append("create directory %s" % directory)
            if check_mode:
                return actions
            os.makedirs(directory, DIR_MODE)
        if stat.S_IMODE(os.stat(directory).st_mode) != DIR_MODE:
            actions.append("set mode %o on %s" % (DIR_MODE, directory))
            if not check_mode:
                os.chmod(directory, DIR_MODE)
        if not check_mode:
            # a real file, not os.access(): a full disk or an immutable directory only shows on writing
            handle, probe = tempfile.mkstemp(prefix=".microseg-write-check-", dir=directory)
            os.close(handle)
            os.remove(probe)
    except (IOError, OSError) as error:
        raise _error(directory, error, "checked before applying: the live firewall was not changed")
    return actions


def _current(path):
    try:
        with open(path) as handle:
            return handle.read(), stat.S_IMODE(os.fstat(handle.fileno()).st_mode)
    except (IOError, OSError):
        return None, None


def action(directory, name, once_confirmed=False):
    """The line host_firewall reports for a kept file."""
    return "keep %s for the boot restore%s" % (os.path.join(directory, name), ", once confirmed" if once_confirmed else "")


def stale(directory, files):
    """The names of the files that are missing or differ (text or mode) from what is wanted."""
    names = []
    for name in sorted(files):
        text, mode = _current(os.path.join(directory, name))
        if text != files[name] or mode != FILE_MODE:
            names.append(name)
    return names


def write(directory, files, names):
    """Replace each named file atomically; return one action line per file written."""
    actions = []
    for name in names:
        path = os.path.join(directory, name)
        try:
            handle, temporary = tempfile.mkstemp(prefix="." + name + ".", dir=directory)
            try:
                with os.fdopen(handle, "w") as stream:
                    stream.write(files[name])
                    stream.flush()
                    os.fsync(stream.fileno())
                os.chmod(temporary, FILE_MODE)
                if os.geteuid() == 0:
                    os.chown(temporary, 0, 0)
                os.rename(temporary, path)
            except BaseException:
                if os.path.exists(temporary):
                    os.remove(temporary)
                raise
        except (IOError, OSError) as error:
            raise _error(directory, error, "the live rules are applied, but a reboot would not restore them")
        actions.append(action(directory, name))
    return actions
