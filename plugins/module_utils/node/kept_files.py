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
from collections import namedtuple

from ansible_collections.microseg.cluster_firewall.plugins.module_utils import applied

DIR_MODE = 0o750
FILE_MODE = 0o640
ONCE_CONFIRMED = ", once confirmed"     # said of what waits for the commit-confirm


class KeepError(Exception):
    pass


class Step(namedtuple("Step", "text do")):
    """One change to the node's files: the line that says it (None: nothing worth saying, like the
    write check) and the function that makes it. Steps are computed first, then - outside check
    mode - carried out in order."""
    __slots__ = ()


def texts(steps):
    """What the steps say they do."""
    return [step.text for step in steps if step.text]


def carry_out(steps):
    """Make the steps' changes, in order; what they say they did."""
    for step in steps:
        step.do()
    return texts(steps)


def _guarded(do, make_error):
    """do, with an OSError turned into the KeepError make_error(error) says."""
    def guarded():
        try:
            do()
        except (IOError, OSError) as error:
            raise make_error(error)
    return guarded


def rulesets(names, texts, directory):
    """{path: (text, mode)} of a backend's rulesets kept in the directory. names: the backend's
    kept_files; texts: {file name: text}, host_firewall's ruleset."""
    return dict((os.path.join(directory, name), (texts.get(name) or "", FILE_MODE)) for name in names)


def _error(directory, error, consequence):
    return KeepError("cannot keep the boot restore files in %s: %s (%s)" % (directory, error, consequence))


def _write_check(directory):
    # a real file, not os.access(): a full disk or an immutable directory only shows on writing
    handle, probe = tempfile.mkstemp(prefix=".microseg-write-check-", dir=directory)
    os.close(handle)
    os.remove(probe)


def _make_directory(directory, mode):
    os.makedirs(directory, mode or 0o755)
    if mode is not None:
        os.chmod(directory, mode)       # whatever the umask


def prepare_steps(directory, mode=DIR_MODE):
    """The steps that make sure the directory exists (with this mode; None: 0755 when made, an
    existing one is left as it is) and takes a new file. Only reads the node."""
    def checked_before_applying(do):
        return _guarded(do, lambda error: _error(directory, error, "checked before applying: the live firewall was not changed"))
    try:
        if not os.path.isdir(directory):
            steps = [Step("create directory %s" % directory, checked_before_applying(lambda: _make_directory(directory, mode)))]
        elif mode is not None and stat.S_IMODE(os.stat(directory).st_mode) != mode:
            steps = [Step("set mode %o on %s" % (mode, directory), checked_before_applying(lambda: os.chmod(directory, mode)))]
        else:
            steps = []
    except (IOError, OSError) as error:
        raise _error(directory, error, "checked before applying: the live firewall was not changed")
    return steps + [Step(None, checked_before_applying(lambda: _write_check(directory)))]


def _current(path):
    try:
        with open(path) as handle:
            return handle.read(), stat.S_IMODE(os.fstat(handle.fileno()).st_mode)
    except (IOError, OSError):
        return None, None


def action(path, once_confirmed=False):
    """The line host_firewall reports for a file it writes for the boot restore (or the record of
    what is applied, which the next run's node_facts checks: module_utils/applied.py)."""
    what = "the record of what is applied" if os.path.basename(path) == applied.RECORD_NAME else "the boot restore"
    return "write %s for %s%s" % (path, what, ONCE_CONFIRMED if once_confirmed else "")


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


def remove_steps(paths, directory):
    """The steps that remove these files (those that exist), then the directory when that leaves it
    empty (a file someone else put there keeps it). Only reads the node."""
    def removing(do):
        return _guarded(do, lambda error: KeepError("cannot remove the boot restore files: %s" % error))
    steps = [Step("remove %s" % path, removing(lambda path=path: os.remove(path))) for path in paths if os.path.lexists(path)]
    try:
        left = [name for name in os.listdir(directory) if os.path.join(directory, name) not in paths] \
            if directory and os.path.isdir(directory) else None
    except (IOError, OSError) as error:
        raise KeepError("cannot remove the boot restore files: %s" % error)
    if left == []:
        steps.append(Step("remove directory %s" % directory, removing(lambda: os.rmdir(directory))))
    return steps
