# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One run of host_firewall on the node, whatever the backend: lock -> compute the change ->
check that the boot files can be kept -> arm the commit-confirm revert -> apply -> read back ->
keep the files (or hold them for the confirm). And state=confirm: disarm the revert.

The backend comes from backends/hosts.py (or, in tests, is any object with the Backend
surface); nothing here knows iptables or nft.
"""

from __future__ import annotations

import fcntl
import os
import time

from ansible_collections.microseg.cluster_firewall.plugins.module_utils import applied
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.iptables import render as iptables
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.base import BackendError
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.node import boot_restore, confirm, kept_files

LOCK_FILE = "/run/microseg.lock"


def lock_node(timeout):
    """Serialise runs on one node; a second run waits, then fails naming the lock."""
    handle = open(LOCK_FILE, "a")
    deadline = time.time() + timeout
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return handle
        except (IOError, OSError):
            if time.time() >= deadline:
                handle.close()
                raise BackendError("another microseg run holds %s (waited %ds); try again when it ends"
                                   % (LOCK_FILE, timeout))
            time.sleep(0.5)


def confirm_run(module, params, result):
    """state=confirm: disarm the revert, or say what it did when it came first."""
    if not params["confirm_token"]:
        raise BackendError("state=confirm needs confirm_token (the token the applying run returned)")
    lock = lock_node(params["lock_timeout"])     # the revert runs under the same lock: no race
    try:
        confirmed, outcome = confirm.disarm(params["confirm_token"])
        if confirmed:
            # the rules stay from here on, even if keeping the files below fails
            result.update(changed=True, confirmed=True, actions=["confirmed: the revert armed by token %s is disarmed"
                                                                 % params["confirm_token"]])
            if outcome:
                # what the applying run held back until now (a rollback would have dropped it)
                result["actions"] += write_boot_files(module, outcome)
    finally:
        lock.close()
    if confirmed:
        return
    if "actions" in outcome:
        result["rolled_back"] = outcome["actions"]
        raise BackendError("the confirm came too late: the node put its previous rules back by itself (%s)"
                           % ("; ".join(outcome["actions"]) or "nothing to undo"), rolled_back=outcome["actions"])
    if "time" in outcome:
        raise BackendError("the confirm came too late, and the node's revert to its previous rules failed: %s"
                           % outcome.get("error"))
    raise BackendError("cannot confirm token %s: %s" % (params["confirm_token"], outcome.get("error")))


def new_result(backend):
    """What a run returns before it has done anything."""
    return dict(changed=False, actions=[], reported=[], families=[], backend=backend,
                jump_comment=iptables.JUMP_COMMENT, confirm_token="", boot_unit="")


def record_path(directory):
    """The record of the last applied request, in keep_dir (module_utils/applied.py)."""
    return os.path.join(directory, applied.RECORD_NAME)


def boot_files(backend, params, result):
    """What keep_dir and boot_script want on the node: ({path: (text, mode)}, [(directory, mode)], systemd).
    The record of this request (for the next run's check in node_facts) goes with the kept rulesets."""
    directory = params["keep_dir"]
    wanted = kept_files.rulesets(backend.kept_files, backend.files, directory)
    wanted[record_path(directory)] = (applied.record_text(params), kept_files.FILE_MODE)
    directories = [(directory, kept_files.DIR_MODE)]
    systemd = False
    if params["boot_script"]:
        systemd = boot_restore.systemd_running()
        boot = boot_restore.files(directory, params["boot_script"], backend.restore_commands(iptables.JUMP_COMMENT),
                                  systemd)
        wanted.update(boot)
        directories += [(os.path.dirname(path), None) for path in sorted(boot) if os.path.dirname(path) != directory]
        result["boot_unit"] = boot_restore.UNIT_PATH if systemd else ""
    return wanted, directories, systemd


def boot_removal_steps(module, backend, params):
    """state=absent: the steps that disable the boot unit and remove the kept rulesets of this
    backend, the restore script and the unit (the last two only when their header says this
    collection wrote them), then keep_dir when nothing else is in it."""
    directory = params["keep_dir"]
    # the record first: a removal that stops half-way leaves no record of rules that are gone
    paths = [record_path(directory)] + [os.path.join(directory, name) for name in backend.kept_files] \
        if directory else []
    steps = []
    if params["boot_script"]:
        if boot_restore.ours(boot_restore.UNIT_PATH):
            steps += boot_restore.disable_steps(module.run_command)
        paths += [path for path in (params["boot_script"], boot_restore.UNIT_PATH) if boot_restore.ours(path)]
    return steps + kept_files.remove_steps(paths, directory)


def boot_files_pending(boot_files_due):
    """Whether boot files wait to be written or the unit to be enabled (a unit to reload is among the files)."""
    return bool(boot_files_due["files"] or boot_files_due["enable"])


def write_boot_files(module, boot_files_due):
    """Write the files held back ({"files": {path: (text, mode)}, "enable", "reload"}) and enable the unit."""
    files = dict((path, tuple(value)) for path, value in boot_files_due["files"].items())
    actions = kept_files.write(files, sorted(files))
    if boot_files_due["enable"] or boot_files_due["reload"]:
        actions += boot_restore.enable(module.run_command, boot_files_due["reload"])
    return actions


def boot_files_texts(boot_files_due, once_confirmed):
    """What writing the held-back files says (write_boot_files says the same once it has done it)."""
    if not boot_files_pending(boot_files_due):
        return []
    actions = [kept_files.action(path, once_confirmed=once_confirmed) for path in sorted(boot_files_due["files"])]
    if boot_files_due["enable"] or boot_files_due["reload"]:
        actions += boot_restore.enable_actions(boot_files_due["reload"], once_confirmed)
    return actions


def apply(module, params, result, backend, lock=None, arm=None):
    """state=present/absent. Fills `result`; raises BackendError or kept_files.KeepError, with the
    live firewall unchanged when the error comes before the apply. lock(timeout) and
    arm(token, timeout, actions, revert, take_lock, on_confirm) default to the node's own.

    First everything is computed, reading the node only; check mode stops there, the one place
    it is decided. Then the changes are made: the keep directories, the revert, the rules, the
    read-back, the boot files (or, with a revert armed, they wait for the confirm)."""
    take_lock = lock or lock_node
    arm = arm or confirm.arm
    remove = params["state"] == "absent"
    keeping = bool(params["keep_dir"]) and not remove
    make_change = backend.change(remove)
    wanted, directories, systemd = boot_files(backend, params, result) if keeping else ({}, [], False)
    run_lock = None if module.check_mode else take_lock(params["lock_timeout"])
    try:
        change = make_change()
        result.update(changed=change.changed, actions=list(change.actions), reported=change.reported)
        if module._diff:
            result["diff"] = {"before": "".join(change.before), "after": "".join(change.after)}
        reverting = change.changed and bool(params["confirm_timeout"]) and not remove
        # before any live change: a node that cannot keep the rules must not get them
        prepare = [step for directory, mode in directories for step in kept_files.prepare_steps(directory, mode)]
        boot_files_due = {"files": {}, "enable": False, "reload": False}
        if keeping:
            stale = kept_files.stale(wanted)
            boot_files_due = {"files": dict((path, wanted[path]) for path in stale),
                              "enable": systemd and not boot_restore.is_enabled(module.run_command),
                              "reload": boot_restore.UNIT_PATH in stale}     # systemd must read a new unit file
        removal = boot_removal_steps(module, backend, params) if remove and (params["keep_dir"] or params["boot_script"]) \
            else []
        result["actions"] += kept_files.texts(prepare)
        result["actions"] += boot_files_texts(boot_files_due, reverting)
        result["actions"] += kept_files.texts(removal)
        result["changed"] = any((change.changed, kept_files.texts(prepare), boot_files_pending(boot_files_due), removal))
        if module.check_mode:
            return

        kept_files.carry_out(prepare)
        if change.changed:
            if reverting:
                token = confirm.new_token()
                arm(token, params["confirm_timeout"], change.actions, backend.revert(change),
                    lambda: take_lock(params["lock_timeout"] + params["confirm_timeout"]),
                    on_confirm=boot_files_due if boot_files_pending(boot_files_due) else None)
                result["confirm_token"] = token
            change.apply()
            again = make_change()
            if again.changed:
                raise BackendError("the live firewall differs from the ruleset right after applying it: %s"
                                   % "; ".join(again.actions), before="".join(again.before),
                                   after="".join(again.after))
        if not reverting and boot_files_pending(boot_files_due):
            write_boot_files(module, boot_files_due)
        kept_files.carry_out(removal)
    finally:
        if run_lock is not None:
            run_lock.close()
