# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One host_firewall run against a fake backend: the order (lock, change, keep-dir check, arm,
apply, read back, keep), check mode, and every failure path leaving the firewall as it was."""
from __future__ import annotations

import os
from types import SimpleNamespace

import pytest

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.node import host_firewall_run, kept_files
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.base import BackendError


class FakeModule(object):
    def __init__(self, check_mode=False, diff=False):
        self.check_mode, self._diff, self.warnings, self.commands = check_mode, diff, [], []

    def run_command(self, argv, **_kwargs):
        self.commands.append(argv)
        return 0, "enabled\n", ""

    def warn(self, text):
        self.warnings.append(text)


class FakeBackend(object):
    """A firewall held in memory: `live` is what the kernel has; change() compares it with `desired`."""
    kept_files = ("fake.rules",)
    files = {"fake.rules": "*filter\nCOMMIT\n"}       # what host_firewall's ruleset gives it

    def __init__(self, live="old", desired="new", reject=False, read_back=None):
        self.live, self.desired, self.reject, self.read_back = live, desired, reject, read_back
        self.events = []

    def change(self, remove):
        def compute():
            self.events.append("read")
            target = "" if remove else self.desired
            changed = self.live != target

            def apply():
                if self.reject:
                    raise BackendError("fake-restore --test failed (rc=2): line 3: bad rule", rc=2)
                self.events.append("apply")
                self.live = self.read_back if self.read_back is not None else target
            return SimpleNamespace(changed=changed, actions=["rewrite %s -> %s" % (self.live, target)] if changed else [],
                                   reported=[], before=[self.live], after=[target], apply=apply)
        return compute

    def revert(self, change):
        before = self.live
        return lambda: setattr(self, "live", before) or ["put back %s" % before]

    def restore_commands(self, jump_comment):
        return "fake-restore < \"$dir/fake.rules\"\n"


def params(tmp_path, **overrides):
    value = {"state": "present", "ruleset": dict(FakeBackend.files), "lock_timeout": 1, "confirm_timeout": 0,
             "keep_dir": str(tmp_path / "keep"), "boot_script": None}
    value.update(overrides)
    return value


def run(module, backend, tmp_path, locks=None, armed=None, **overrides):
    result = {"changed": False, "actions": [], "reported": [], "confirm_token": "", "boot_unit": ""}
    locks = [] if locks is None else locks

    class Lock(object):
        def close(self):
            locks.append("released")

    def lock(timeout):
        locks.append("taken")
        return Lock()

    def arm(token, timeout, actions, revert, take_lock, on_confirm=None):
        armed.append({"token": token, "timeout": timeout, "revert": revert, "on_confirm": on_confirm})
    host_firewall_run.apply(module, params(tmp_path, **overrides), result, backend, lock=lock, arm=arm)
    return result


def test_a_change_is_applied_under_the_lock_read_back_and_its_ruleset_kept(tmp_path):
    backend, locks = FakeBackend(), []
    result = run(FakeModule(), backend, tmp_path, locks=locks, armed=[])
    assert result["changed"] and backend.live == "new"
    assert backend.events == ["read", "apply", "read"]                 # read back after applying
    assert locks == ["taken", "released"]
    assert (tmp_path / "keep" / "fake.rules").read_text() == "*filter\nCOMMIT\n"
    again = run(FakeModule(), backend, tmp_path, armed=[])
    assert not again["changed"] and again["actions"] == []


def test_check_mode_changes_nothing_takes_no_lock_and_says_what_it_would_do(tmp_path):
    backend, locks = FakeBackend(), []
    result = run(FakeModule(check_mode=True, diff=True), backend, tmp_path, locks=locks, armed=[])
    assert result["changed"] and backend.live == "old" and backend.events == ["read"]
    assert locks == [] and not (tmp_path / "keep").exists()
    assert result["diff"] == {"before": "old", "after": "new"}
    assert "create directory %s" % (tmp_path / "keep") in result["actions"]


def test_with_commit_confirm_a_revert_is_armed_first_and_the_files_wait_for_the_confirm(tmp_path):
    backend, armed = FakeBackend(), []
    result = run(FakeModule(), backend, tmp_path, armed=armed, confirm_timeout=30)
    assert len(armed) == 1 and armed[0]["timeout"] == 30 and result["confirm_token"] == armed[0]["token"]
    assert not (tmp_path / "keep" / "fake.rules").exists()            # kept only once confirmed
    assert any(action.endswith(kept_files.ONCE_CONFIRMED) for action in result["actions"])
    assert armed[0]["revert"]() == ["put back old"] and backend.live == "old"


def test_a_ruleset_the_dry_run_rejects_changes_nothing_and_keeps_nothing(tmp_path):
    backend, locks = FakeBackend(reject=True), []
    with pytest.raises(BackendError, match="line 3: bad rule"):
        run(FakeModule(), backend, tmp_path, locks=locks, armed=[])
    assert backend.live == "old" and locks == ["taken", "released"]
    assert not (tmp_path / "keep" / "fake.rules").exists()


def test_a_read_back_that_differs_fails_naming_what_differs(tmp_path):
    backend = FakeBackend(read_back="mangled")
    with pytest.raises(BackendError, match="differs from the ruleset right after applying it: rewrite mangled -> new"):
        run(FakeModule(), backend, tmp_path, armed=[])
    assert not (tmp_path / "keep" / "fake.rules").exists()


def test_lock_contention_fails_before_anything_is_read(tmp_path, monkeypatch):
    monkeypatch.setattr(host_firewall_run, "LOCK_FILE", str(tmp_path / "microseg.lock"))
    held = host_firewall_run.lock_node(1)
    try:
        backend = FakeBackend()
        with pytest.raises(BackendError, match="another microseg run holds .*microseg.lock"):
            host_firewall_run.apply(FakeModule(), params(tmp_path), {"actions": [], "confirm_token": ""}, backend)
        assert backend.events == [] and backend.live == "old"
    finally:
        held.close()


def test_an_unwritable_keep_dir_fails_before_the_firewall_changes(tmp_path):
    keep = tmp_path / "keep"
    keep.mkdir(mode=0o750)
    os.chmod(str(keep), 0o550)
    backend = FakeBackend()
    try:
        if os.access(str(keep), os.W_OK) and os.geteuid() == 0:
            # root writes anywhere: a file where the directory should be stands for a read-only /etc
            os.chmod(str(keep), 0o750)
            keep.rmdir()
            keep.write_text("not a directory")
        with pytest.raises(kept_files.KeepError, match="cannot keep the boot restore files"):
            run(FakeModule(), backend, tmp_path, armed=[])
        assert backend.live == "old" and "apply" not in backend.events
    finally:
        if keep.is_dir():
            os.chmod(str(keep), 0o750)


def test_absent_removes_the_kept_files_and_the_boot_script_it_wrote_then_the_empty_directory(tmp_path, monkeypatch):
    monkeypatch.setattr(host_firewall_run.boot_restore, "UNIT_PATH", str(tmp_path / "unit.service"))
    monkeypatch.setattr(host_firewall_run.boot_restore, "systemd_running", lambda: False)
    script = str(tmp_path / "microseg-restore")
    run(FakeModule(), FakeBackend(), tmp_path, armed=[], boot_script=script)
    assert (tmp_path / "keep" / "fake.rules").exists() and (tmp_path / "microseg-restore").exists()

    backend = FakeBackend(live="new")
    checked = run(FakeModule(check_mode=True), backend, tmp_path, armed=[], state="absent", boot_script=script)
    assert checked["changed"] and (tmp_path / "microseg-restore").exists() and backend.live == "new"
    removed = run(FakeModule(), backend, tmp_path, armed=[], state="absent", boot_script=script)
    assert removed["actions"][-4:] == ["remove %s" % (tmp_path / "keep" / "applied.json"),
                                       "remove %s" % (tmp_path / "keep" / "fake.rules"), "remove %s" % script,
                                       "remove directory %s" % (tmp_path / "keep")]
    assert backend.live == "" and not (tmp_path / "keep").exists() and not (tmp_path / "microseg-restore").exists()
    again = run(FakeModule(), backend, tmp_path, armed=[], state="absent", boot_script=script)
    assert not again["changed"] and again["actions"] == []


def test_absent_leaves_a_script_it_did_not_write_and_a_directory_with_other_files(tmp_path, monkeypatch):
    monkeypatch.setattr(host_firewall_run.boot_restore, "UNIT_PATH", str(tmp_path / "unit.service"))
    monkeypatch.setattr(host_firewall_run.boot_restore, "systemd_running", lambda: False)
    theirs = tmp_path / "their-script"
    theirs.write_text("#!/bin/sh\necho not ours\n")
    run(FakeModule(), FakeBackend(), tmp_path, armed=[])
    (tmp_path / "keep" / "notes.txt").write_text("an operator's file\n")
    removed = run(FakeModule(), FakeBackend(live="new"), tmp_path, armed=[], state="absent", boot_script=str(theirs))
    assert removed["actions"][-1] == "remove %s" % (tmp_path / "keep" / "fake.rules")
    assert theirs.exists() and (tmp_path / "keep" / "notes.txt").exists()
