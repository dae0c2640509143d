# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Commit-confirm: new rules are applied with a revert armed on the node; the controller must
reach the node over a new connection and disarm it within the timeout, else the node puts its
previous rules back by itself.

The revert runs in a detached process (double fork, new session, standard streams on
/dev/null) so it outlives the module and the connection that started it, with no systemd or
at needed. It holds the previous state in memory and finds its instructions in files under
STATE_DIR (tmpfs: a reboot forgets a pending confirm, and the boot restore loads the kept
rulesets, which are only written after a confirm):

- PENDING: the armed token and its deadline; removing it (disarm) makes the revert exit;
- OUTCOME: what the last revert did, read by the confirm step to tell the play why.
"""

from __future__ import annotations

import json
import os
import time

STATE_DIR = "/run/microseg"
PENDING = os.path.join(STATE_DIR, "pending.json")
OUTCOME = os.path.join(STATE_DIR, "rollback.json")
POLL_SECONDS = 0.2


def _write_json(path, content):
    """Write atomically: a reader sees the old file or the new one, never half of one."""
    temporary = path + ".tmp"
    with open(temporary, "w") as handle:
        json.dump(content, handle, sort_keys=True)
    os.rename(temporary, path)


def _read_json(path):
    try:
        with open(path) as handle:
            return json.load(handle)
    except (IOError, OSError, ValueError):
        return None


def new_token():
    return "%d-%s" % (int(time.time()), os.urandom(6).hex())


def pending_token():
    content = _read_json(PENDING)
    return content.get("token") if content else None


def arm(token, timeout, actions, revert, lock, on_confirm=None):
    """Record the pending confirm, then start the detached revert; return at once.

    revert() puts the previous rules back and returns its list of actions; lock() returns an
    object to close, held while reverting (the run lock, so a revert never interleaves with a
    run). Both run in the detached process. on_confirm is data (JSON) for the confirming run to
    act on once the rules are confirmed: disarm() hands it back, a revert drops it."""
    if not os.path.isdir(STATE_DIR):
        os.makedirs(STATE_DIR, 0o700)
    deadline = time.time() + timeout
    _write_json(PENDING, {"token": token, "deadline": deadline, "timeout": timeout, "actions": actions,
                          "on_confirm": on_confirm})
    child = os.fork()
    if child:
        os.waitpid(child, 0)        # the first child exits as soon as it has forked the revert
        return
    try:
        os.setsid()
        if os.fork():
            os._exit(0)
        _detach()
        _wait_then_revert(token, deadline, revert, lock)
    finally:
        os._exit(0)


def _detach():
    os.chdir("/")
    devnull = os.open(os.devnull, os.O_RDWR)
    for stream in (0, 1, 2):
        os.dup2(devnull, stream)
    # the connection's pipes and the module's run lock must not be kept open by the revert
    os.closerange(3, 65536)


def _wait_then_revert(token, deadline, revert, lock):
    while time.time() < deadline:
        if pending_token() != token:
            return                  # confirmed (or superseded): nothing to do
        time.sleep(POLL_SECONDS)
    run_lock = lock()
    try:
        if pending_token() != token:
            return
        outcome = {"token": token, "time": time.time()}
        try:
            outcome["actions"] = revert()
        except Exception as error:  # pylint: disable=broad-except
            # any failure is recorded for the confirm step to report; the revert must not die silently
            outcome["error"] = str(error)
        _write_json(OUTCOME, outcome)
        os.remove(PENDING)
    finally:
        run_lock.close()


def disarm(token):
    """The controller got through: cancel the revert. Returns (confirmed, outcome): when confirmed,
    outcome is the on_confirm data given to arm(); confirmed is False when the revert already ran
    (outcome says what it did) or the token is unknown."""
    pending = _read_json(PENDING)
    if pending and pending.get("token") == token:
        os.remove(PENDING)
        return True, pending.get("on_confirm")
    outcome = _read_json(OUTCOME)
    if outcome and outcome.get("token") == token:
        return False, outcome
    return False, {"token": token, "error": "no pending confirm with this token on the node"}
