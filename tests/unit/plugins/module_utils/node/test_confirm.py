# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Commit-confirm: the detached revert runs unless disarmed in time, and says what it did."""
from __future__ import annotations

import json
import os
import time

import pytest

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.node import confirm


class Lock(object):
    def close(self):
        pass


@pytest.fixture(autouse=True)
def state_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(confirm, "STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setattr(confirm, "PENDING", str(tmp_path / "state" / "pending.json"))
    monkeypatch.setattr(confirm, "OUTCOME", str(tmp_path / "state" / "rollback.json"))
    return tmp_path


def revert_writing(marker):
    def revert():
        with open(marker, "w") as handle:
            handle.write("reverted")
        return ["ipv4: rewrite chain MICROSEG-INPUT (3 rules)"]
    return revert


def wait_for(path, seconds=20.0):
    deadline = time.time() + seconds
    while time.time() < deadline and not os.path.exists(path):
        time.sleep(0.05)
    return os.path.exists(path)


def test_without_a_confirm_the_node_reverts_by_itself_and_records_it(state_dir):
    marker = str(state_dir / "marker")
    confirm.arm("t1", 0.5, ["ipv4: rewrite chain"], revert_writing(marker), Lock)
    assert confirm.pending_token() == "t1"
    assert wait_for(confirm.OUTCOME)
    assert open(marker).read() == "reverted"
    assert confirm.pending_token() is None
    confirmed, outcome = confirm.disarm("t1")
    assert confirmed is False
    assert outcome["actions"] == ["ipv4: rewrite chain MICROSEG-INPUT (3 rules)"]


def test_a_confirm_in_time_disarms_the_revert(state_dir):
    marker = str(state_dir / "marker")
    # timeouts with room for a loaded machine: the disarm must come first, then the time passes
    confirm.arm("t2", 2.0, [], revert_writing(marker), Lock)
    assert confirm.disarm("t2") == (True, None)           # nothing was left for the confirm
    time.sleep(2.5)
    assert not os.path.exists(marker) and not os.path.exists(confirm.OUTCOME)


def test_a_newer_run_supersedes_an_armed_revert(state_dir):
    old_marker, new_marker = str(state_dir / "old"), str(state_dir / "new")
    armed = time.time()
    confirm.arm("old", 2.0, [], revert_writing(old_marker), Lock)
    confirm.arm("new", 0.3, [], revert_writing(new_marker), Lock)
    assert wait_for(new_marker)
    time.sleep(max(0.0, armed + 2.5 - time.time()))        # past the old revert's time
    assert not os.path.exists(old_marker)
    assert json.load(open(confirm.OUTCOME))["token"] == "new"


def test_a_failing_revert_is_recorded_with_its_error(state_dir):
    def revert():
        raise RuntimeError("iptables-restore failed (rc=1): line 3")
    confirm.arm("t3", 0.2, [], revert, Lock)
    assert wait_for(confirm.OUTCOME)
    confirmed, outcome = confirm.disarm("t3")
    assert confirmed is False and "line 3" in outcome["error"]


def test_an_unknown_token_cannot_be_confirmed():
    confirmed, outcome = confirm.disarm("nope")
    assert confirmed is False and "no pending confirm" in outcome["error"]


def test_the_confirm_gets_what_was_held_back_and_a_revert_drops_it(state_dir):
    held = {"files": {"/etc/microseg/ipv4.rules": ["*filter\nCOMMIT\n", 0o640]}, "enable": True, "reload": False}
    confirm.arm("t4", 5.0, [], revert_writing(str(state_dir / "m4")), Lock, on_confirm=held)
    assert confirm.disarm("t4") == (True, held)
    confirm.arm("t5", 0.2, [], revert_writing(str(state_dir / "m5")), Lock, on_confirm=held)
    assert wait_for(confirm.OUTCOME)
    confirmed, outcome = confirm.disarm("t5")
    assert confirmed is False and "files" not in outcome
