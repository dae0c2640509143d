# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The steady state's decision (module_utils/applied.py): the request and its digest, the record's
text, and when a host_firewall run may be skipped - only when this run's request is the recorded
one and the node found itself holding it."""
from __future__ import annotations

import pytest

from ansible_collections.microseg.cluster_firewall.plugins.module_utils import applied

REQUEST = {"backend": "nftables", "variant": "auto", "ruleset": {"microseg.nft": "table inet microseg {\n}\n"},
           "keep_dir": "/etc/microseg", "boot_script": "/usr/local/sbin/microseg-restore"}


def test_the_request_takes_the_modules_defaults_and_leaves_out_how_a_run_goes():
    task_args = dict(REQUEST, confirm_timeout="120", auto_confirm=True, lock_timeout=60, state="present",
                     applied_check={"digest": "x"})
    request = applied.request_of(task_args)
    assert sorted(request) == sorted(applied.REQUEST_KEYS)
    assert request["ruleset"] == REQUEST["ruleset"] and request["variant"] == "auto"
    assert applied.request_of({})["ruleset"] == {}
    assert applied.request_of({})["backend"] == "iptables" and applied.request_of({})["keep_dir"] is None
    # the confirm's and the lock's options do not change what the node must hold
    assert applied.digest(task_args) == applied.digest(REQUEST)


@pytest.mark.parametrize("key", applied.REQUEST_KEYS)
def test_every_part_of_the_request_changes_the_digest(key):
    other = dict(applied.request_of(REQUEST))
    other[key] = {"microseg.nft": "x"} if key == "ruleset" else (other[key] or "") + "x"
    assert applied.digest(other) != applied.digest(REQUEST)


def test_a_file_missing_from_the_ruleset_is_an_empty_one():
    """The module takes a file not given as empty: both requests ask for the same, one digest."""
    given = dict(REQUEST, ruleset={"microseg.nft": REQUEST["ruleset"]["microseg.nft"], "objects": ""})
    assert applied.digest(given) == applied.digest(REQUEST)
    assert applied.digest(dict(REQUEST, ruleset={"microseg.nft": ""})) == applied.digest(dict(REQUEST, ruleset={}))
    assert applied.digest(dict(REQUEST, ruleset={"objects": "{}"})) != applied.digest(REQUEST)


def test_a_missing_boot_script_is_not_an_empty_one():
    assert applied.digest(dict(REQUEST, boot_script=None)) != applied.digest(dict(REQUEST, boot_script=""))


def test_the_record_reads_back_as_the_request_and_is_stable():
    text = applied.record_text(REQUEST)
    assert text == applied.record_text(dict(REQUEST, confirm_timeout=5))     # same file for the same request
    assert applied.request_of_record(text) == applied.request_of(REQUEST)


@pytest.mark.parametrize("text", ['{"version": 2, "request": {}}', '[]', '{"version": 2}',
                                  '{"version": 2, "request": {"backend": "iptables"}}',
                                  applied.record_text(REQUEST).replace('"version": 2', '"version": 1')])
def test_a_record_of_another_version_or_shape_is_refused(text):
    with pytest.raises(ValueError):
        applied.request_of_record(text)


def check(**overrides):
    found = {"digest": applied.digest(REQUEST), "in_sync": True, "differences": [], "reported": [], "boot_unit": ""}
    found.update(overrides)
    return found


def test_the_run_is_skipped_only_for_the_same_request_on_a_node_that_holds_it():
    same, why = applied.steady(check(), dict(REQUEST, confirm_timeout=120))
    assert same and applied.digest(REQUEST)[:12] in why


@pytest.mark.parametrize("found, options, reason", [
    (None, REQUEST, "no record"),
    ("not a dict", REQUEST, "no record"),
    (check(digest="", in_sync=False, differences=["no record of an applied run (No such file)"]), REQUEST,
     "No such file"),
    # a new peer or CNI port: the plan of this run renders another ruleset
    (check(), dict(REQUEST, ruleset={"microseg.nft": "table inet microseg {\n\tset peers {}\n}\n"}), "plan differs"),
    (check(), dict(REQUEST, backend="firewalld"), "plan differs"),
    # the same plan, but someone deleted one of our rules
    (check(in_sync=False, differences=["replace table inet microseg"]), REQUEST, "replace table inet microseg"),
    (check(in_sync="yes"), REQUEST, "differs from what it last applied"),
])
def test_any_other_case_runs_the_module(found, options, reason):
    same, why = applied.steady(found, options)
    assert not same and reason in why
