# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host_firewall action: apply, then confirm over a new connection; when that connection
fails, wait for the node's revert and ask what it put back. The node is faked: each call of the
module returns the next prepared answer, or raises a connection failure."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from ansible.errors import AnsibleConnectionFailure
from ansible.plugins.action import ActionBase

from ansible_collections.microseg.cluster_firewall.plugins.action import host_firewall as action

CUT = object()      # an answer: the connection cannot be opened

APPLIED = {"changed": True, "actions": ["replace chain MICROSEG-INPUT"], "confirm_token": "17-ab"}


class NetworkedConnection(object):
    """Stands for ssh: it has a reset of its own."""

    def __init__(self):
        self.resets = 0
        self._shell = SimpleNamespace(tmpdir=None)

    def reset(self):
        self.resets += 1


def run_action(monkeypatch, args, answers, connection=None):
    """Run the action with these module answers; return (result, module calls, sleeps, connection)."""
    connection = connection or NetworkedConnection()
    calls, sleeps = [], []

    def execute_module(self, module_name=None, module_args=None, task_vars=None):
        calls.append(dict(module_args))
        answer = answers.pop(0)
        if answer is CUT:
            raise AnsibleConnectionFailure("ssh: connect to host 10.0.0.5 port 22: Connection timed out")
        return dict(answer)

    monkeypatch.setattr(ActionBase, "run", lambda self, tmp=None, task_vars=None: {})
    monkeypatch.setattr(action.ActionModule, "_execute_module", execute_module)
    monkeypatch.setattr(action.time, "sleep", sleeps.append)
    task = SimpleNamespace(args=args, check_mode=False)
    plugin = action.ActionModule(task, connection, None, None, None, None)
    result = plugin.run(task_vars={"inventory_hostname": "node1"})
    assert answers == [], "the action did not make every expected call"
    return result, calls, sleeps, connection


def test_a_change_with_a_revert_is_confirmed_over_a_new_connection(monkeypatch):
    confirmed = {"changed": True, "confirmed": True, "actions": ["confirmed: the revert armed by token 17-ab is disarmed"]}
    result, calls, sleeps, connection = run_action(monkeypatch, {"confirm_timeout": 30}, [APPLIED, confirmed])
    assert calls[1] == {"state": "confirm", "confirm_token": "17-ab"}
    assert connection.resets == 1 and sleeps == []
    assert result["confirmed"] is True and not result.get("failed")
    assert result["actions"] == APPLIED["actions"] + confirmed["actions"]


def test_a_connection_without_reset_is_not_reset(monkeypatch):
    class Local(action.ConnectionBase):          # podman exec, local: no network path to prove
        def __init__(self):                       # pylint: disable=super-init-not-called
            self._shell = SimpleNamespace(tmpdir=None)

        transport = "local"
        _connect = exec_command = put_file = fetch_file = close = None

    warned = []
    monkeypatch.setattr(action.ConnectionBase, "reset", lambda self: warned.append("reset"))
    result, _calls, _sleeps, _connection = run_action(
        monkeypatch, {"confirm_timeout": 30}, [APPLIED, {"confirmed": True, "actions": []}], connection=Local())
    assert result["confirmed"] is True and warned == []


@pytest.mark.parametrize("applied", [
    {"changed": False, "actions": [], "confirm_token": ""},                # nothing changed: nothing armed
    {"failed": True, "msg": "nft -c refused the ruleset", "confirm_token": ""},
])
def test_nothing_armed_nothing_to_confirm(monkeypatch, applied):
    result, calls, _sleeps, connection = run_action(monkeypatch, {"confirm_timeout": 30}, [applied])
    assert len(calls) == 1 and connection.resets == 0 and "confirmed" not in result


def test_auto_confirm_false_leaves_the_confirm_to_a_later_task(monkeypatch):
    result, calls, _sleeps, _connection = run_action(monkeypatch, {"confirm_timeout": 30, "auto_confirm": False},
                                                     [APPLIED])
    assert len(calls) == 1 and result["confirm_token"] == "17-ab" and "confirmed" not in result


def test_a_cut_connection_waits_for_the_revert_then_says_what_was_put_back(monkeypatch):
    late = {"failed": True, "confirmed": False, "rolled_back": ["restore chain MICROSEG-INPUT"],
            "msg": "the confirm came too late"}
    result, calls, sleeps, connection = run_action(monkeypatch, {"confirm_timeout": 30}, [APPLIED, CUT, late])
    assert sleeps == [30 + action.REVERT_MARGIN] and connection.resets == 2
    assert calls[1] == calls[2] == {"state": "confirm", "confirm_token": "17-ab"}
    assert result["failed"] is True and result["confirmed"] is False
    assert result["rolled_back"] == ["restore chain MICROSEG-INPUT"]
    assert result["msg"].startswith("The new rules cut the management connection to node1 (a new connection failed), "
                                    "so the node put its previous rules back by itself after 30 s: "
                                    "restore chain MICROSEG-INPUT.")


def test_a_node_still_unreachable_after_its_revert_time_is_a_failure(monkeypatch):
    result, _calls, _sleeps, _connection = run_action(monkeypatch, {"confirm_timeout": 5}, [APPLIED, CUT, CUT])
    assert result["failed"] is True and result["msg"] == "Could not confirm the new rules on node1: unreachable"


def test_a_confirm_that_arrives_too_late_says_so(monkeypatch):
    late = {"failed": True, "confirmed": False, "rolled_back": [], "msg": "the confirm came too late"}
    result, _calls, sleeps, _connection = run_action(monkeypatch, {"confirm_timeout": 2}, [APPLIED, late])
    assert sleeps == []
    assert result["msg"] == ("The confirm reached node1 after confirm_timeout (2 s), so the node had put its previous "
                             "rules back by itself: nothing to undo. Raise microseg_confirm_timeout or apply in "
                             "smaller batches (serial).")


def test_confirmed_but_the_files_not_kept_fails_and_says_the_rules_stay(monkeypatch):
    kept_failed = {"failed": True, "confirmed": True, "changed": True, "msg": "/etc/microseg: Read-only file system",
                   "actions": ["confirmed: the revert armed by token 17-ab is disarmed"]}
    result, _calls, _sleeps, _connection = run_action(monkeypatch, {"confirm_timeout": 30}, [APPLIED, kept_failed])
    assert result["confirmed"] is True and result["failed"] is True
    assert result["msg"] == "The new rules on node1 are confirmed and stay, but: /etc/microseg: Read-only file system"


def test_the_lock_timeout_goes_with_the_confirm(monkeypatch):
    _result, calls, _sleeps, _connection = run_action(
        monkeypatch, {"confirm_timeout": 30, "lock_timeout": 7}, [APPLIED, {"confirmed": True, "actions": []}])
    assert calls[1] == {"state": "confirm", "confirm_token": "17-ab", "lock_timeout": 7}


# The steady state (module_utils/applied.py): node_facts' check of the node, passed as applied_check.
STEADY_ARGS = {"backend": "iptables", "ruleset": {"ipv4.rules": "*filter\nCOMMIT\n"}, "keep_dir": "/etc/microseg",
               "confirm_timeout": 120}


def steady_check(**overrides):
    from ansible_collections.microseg.cluster_firewall.plugins.module_utils import applied
    found = {"digest": applied.digest(STEADY_ARGS), "in_sync": True, "differences": [],
             "reported": ["calico's jump comes after ours"], "boot_unit": "/etc/systemd/system/microseg-firewall.service"}
    found.update(overrides)
    return found


def test_the_same_request_on_a_node_that_holds_it_runs_no_module(monkeypatch):
    result, calls, _sleeps, connection = run_action(monkeypatch, dict(STEADY_ARGS, applied_check=steady_check()), [])
    assert calls == [] and connection.resets == 0
    assert result["steady"] is True and result["changed"] is False and result["actions"] == []
    assert result["reported"] == result["warnings"] == ["calico's jump comes after ours"]
    assert result["boot_unit"] == "/etc/systemd/system/microseg-firewall.service" and result["backend"] == "iptables"


@pytest.mark.parametrize("check, reason", [
    (steady_check(in_sync=False, differences=["ipv4: rewrite chain MICROSEG-INPUT"]), "rewrite chain"),
    (steady_check(digest="0" * 64), "plan differs"),
    (steady_check(digest="", in_sync=False), "no record"),
])
def test_a_drifted_node_or_another_plan_runs_the_module_without_the_check(monkeypatch, check, reason):
    unchanged = {"changed": False, "actions": [], "confirm_token": ""}
    result, calls, _sleeps, _connection = run_action(monkeypatch, dict(STEADY_ARGS, applied_check=check), [unchanged])
    assert calls == [STEADY_ARGS]                                   # applied_check stays on the controller
    assert result["steady"] is False and reason in result["steady_reason"]


def test_a_request_changed_in_one_ruleset_line_runs_the_module(monkeypatch):
    args = dict(STEADY_ARGS, ruleset={"ipv4.rules": "*filter\n-A MICROSEG-INPUT -p udp --dport 8472 -j ACCEPT\nCOMMIT\n"},
                applied_check=steady_check())
    result, calls, _sleeps, _connection = run_action(monkeypatch, args, [{"changed": True, "actions": ["x"]}])
    assert len(calls) == 1 and result["changed"] and not result["steady"]


def test_removal_never_takes_the_steady_path(monkeypatch):
    args = dict(STEADY_ARGS, state="absent", applied_check=steady_check())
    result, calls, _sleeps, _connection = run_action(monkeypatch, args, [{"changed": True, "actions": ["x"]}])
    assert len(calls) == 1 and "steady" not in result
