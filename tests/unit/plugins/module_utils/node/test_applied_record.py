# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""node_facts' check of the record host_firewall leaves (node/applied_record.py), against the fake
backend of test_host_firewall_run: in sync right after a run, and not in sync after any drift -
the live rules, a kept file, the record itself, a pending commit-confirm. The check only reads."""
from __future__ import annotations

import os

from ansible_collections.microseg.cluster_firewall.plugins.module_utils import applied
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.node import applied_record

from test_host_firewall_run import FakeBackend, FakeModule, params, run


def check(backend, tmp_path, pending=None, keep_dir=None):
    made = []

    def make_backend(name, module, options, result):
        made.append((name, module.check_mode, options))
        return backend
    found = applied_record.check(FakeModule(), keep_dir or str(tmp_path / "keep"), pending_token=lambda: pending,
                                 make_backend=make_backend)
    return found, made


def applied_node(tmp_path, **overrides):
    backend = FakeBackend()
    run(FakeModule(), backend, tmp_path, armed=[], **overrides)
    return backend


def test_right_after_a_run_the_node_holds_the_recorded_request(tmp_path):
    backend = applied_node(tmp_path, variant="nf_tables")
    record = tmp_path / "keep" / "applied.json"
    assert oct(os.stat(str(record)).st_mode & 0o777) == "0o640"
    backend.events = []
    found, made = check(backend, tmp_path)
    assert found["in_sync"] is True and found["differences"] == []
    # the digest is the one the controller takes of the same options (the task's arguments)
    assert found["digest"] == applied.digest(params(tmp_path, variant="nf_tables"))
    assert found["digest"] != applied.digest(params(tmp_path))
    assert made[0][0] == "iptables" and made[0][1] is True           # the recorded backend, in check mode
    assert made[0][2]["variant"] == "nf_tables"                      # with the recorded options
    assert backend.events == ["read"] and backend.live == "new"       # read, nothing applied


def test_a_rule_deleted_on_the_node_is_drift_and_the_check_repairs_nothing(tmp_path):
    backend = applied_node(tmp_path)
    backend.live, backend.events = "new minus one rule", []
    found, _made = check(backend, tmp_path)
    assert found["in_sync"] is False and found["digest"]
    assert found["differences"] == ["rewrite new minus one rule -> new"]
    assert backend.live == "new minus one rule" and backend.events == ["read"]


def test_a_kept_ruleset_changed_on_disk_is_drift(tmp_path):
    backend = applied_node(tmp_path)
    (tmp_path / "keep" / "fake.rules").write_text("*filter\n-A INPUT -j ACCEPT\nCOMMIT\n")
    found, _made = check(backend, tmp_path)
    assert found["in_sync"] is False
    assert "write %s for the boot restore" % (tmp_path / "keep" / "fake.rules") in found["differences"]


def test_no_record_a_bad_record_or_a_pending_confirm_is_never_in_sync(tmp_path):
    backend = FakeBackend(live="new")
    found, made = check(backend, tmp_path)
    assert found == {"digest": "", "in_sync": False, "differences": [found["differences"][0]], "reported": [],
                     "boot_unit": ""} and "no record" in found["differences"][0] and made == []

    backend = applied_node(tmp_path)
    found, _made = check(backend, tmp_path, pending="17-ab")
    assert not found["in_sync"] and found["differences"] == ["a commit-confirm is pending on the node"]

    found, _made = check(backend, tmp_path, keep_dir=str(tmp_path / "keep") + "/")
    assert not found["in_sync"] and "names keep_dir" in found["differences"][0]

    (tmp_path / "keep" / "applied.json").write_text('{"version": 1, "request": {"backend": "iptables"}}')
    found, _made = check(backend, tmp_path)
    assert not found["in_sync"] and found["digest"] == "" and "not a record" in found["differences"][0]


def test_without_keep_dir_nothing_is_recorded():
    found = applied_record.check(FakeModule(), None)
    assert not found["in_sync"] and found["digest"] == ""


def test_with_commit_confirm_the_record_waits_for_the_confirm(tmp_path):
    backend, armed = FakeBackend(), []
    run(FakeModule(), backend, tmp_path, armed=armed, confirm_timeout=30)
    assert not (tmp_path / "keep" / "applied.json").exists()       # a rollback must not leave it
    assert str(tmp_path / "keep" / "applied.json") in armed[0]["on_confirm"]["files"]


def test_a_check_mode_run_writes_no_record(tmp_path):
    run(FakeModule(check_mode=True), FakeBackend(), tmp_path, armed=[])
    assert not (tmp_path / "keep").exists()
