# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The files host_firewall keeps on the node for the boot restore: the rulesets (our objects only,
never anyone else's), the restore script and the boot unit (boot_restore.py writes their text).

host_firewall checks that their directories can be written before it changes the live firewall
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
ONCE_CONFIRMED = ", once confirmed"     # said of what waits for the commit-confirm


class KeepError(Exception):
    pass


def rulesets(files, params, directory):
    """{path: (text, mode)} of a backend's rulesets kept in the directory, from host_firewall's options.
    files: the backend's kept_files, ((file name, the option holding its text), ...)."""
    return dict((os.path.join(directory, name), (params[option], FILE_MODE)) for name, option in files)


def _error(directory, error, consequence):
    return KeepError("cannot keep the boot restore files in %s: %s (%s)" % (directory, error, consequence))


def prepare(directory, check_mode, mode=DIR_MODE):
    """Make sure the directory exists (with this mode; None: 0755 when made, an existing one is left
    as it is) and takes a new file; return what was (or would be) done."""
    actions = []
    try:
        if not os.path.isdir(directory):
            actions.append("create directory %s" % directory)
            if check_mode:
                return actions
            os.makedirs(directory, mode or 0o755)
        if mode is not None and stat.S_IMODE(os.stat(directory).st_mode) != mode:
            actions.append("set mode %o on %s" % (mode, directory))
            if not check_mode:
                os.chmod(directory, mode)
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


def action(path, once_confirmed=False):
    """The line host_firewall reports for a file it writes for the boot restore."""
    return "write %s for the boot restore%s" % (path, ONCE_CONFIRMED if once_confirmed else "")


def stale(files):
    """The paths of the files ({path: (text, mode)}) that are missing or differ in text or mode."""
    return [path for path in sorted(files) if _current(path) != tuple(files[path])]


def write(files, paths):
    """Replace each of these files ({path: (text, mode)}) atomically; one action line per file written."""
    actions = []
    for path in paths:
        text, mode = files[path]
        directory = os.path.dirname(path)
        try:
            handle, temporary = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", dir=directory)
            try:
                with os.fdopen(handle, "w") as stream:
                    stream.write(text)
                    stream.flush()
                    os.fsync(stream.fileno())
                os.chmod(temporary, mode)
                if os.geteuid() == 0:
                    os.chown(temporary, 0, 0)
                os.rename(temporary, path)
            except BaseException:
                if os.path.exists(temporary):
                    os.remove(temporary)
                raise
        except (IOError, OSError) as error:
            raise _error(directory, error, "the live rules are applied, but a reboot would not restore them")
        actions.append(action(path))
    return actions
