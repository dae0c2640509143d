# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Commit-confirm as one task: run host_firewall on the node; when it armed a revert, drop the
connection, confirm over a new one (only a new connection through the new rules proves they
keep the management path open), and when that connection fails, wait for the node's own
revert, ask it what it put back, and fail saying so.

Before all that, the steady state (module_utils/applied.py): when node_facts found, in this run,
that the node holds exactly the request of this task (applied_check), no module runs at all."""

from __future__ import annotations

import time

from ansible.errors import AnsibleConnectionFailure
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.plugins.connection import ConnectionBase

from ansible_collections.microseg.cluster_firewall.plugins.module_utils import applied
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.node.host_firewall_run import new_result

MODULE = "microseg.cluster_firewall.host_firewall"
# after the node's revert time, how long it may take to run and the node to answer again
REVERT_MARGIN = 5


def confirm_failure(host, timeout, cut, outcome):
    """The message of a confirm that did not leave the new rules in place (or could not keep
    their files), or None when it did. `outcome` is the result of the state=confirm call, None
    when the node stayed unreachable; `cut`: the first new connection failed."""
    outcome = outcome or {}
    if outcome.get("confirmed"):
        if outcome.get("failed"):
            return "The new rules on %s are confirmed and stay, but: %s" % (host, outcome.get("msg"))
        return None
    if "rolled_back" in outcome:
        undone = "; ".join(outcome["rolled_back"]) or "nothing to undo"
        if cut:
            return ("The new rules cut the management connection to %s (a new connection failed), so the node "
                    "put its previous rules back by itself after %s s: %s. Check how the controller reaches the "
                    "node (microseg_management_cidrs, the SSH port)." % (host, timeout, undone))
        return ("The confirm reached %s after confirm_timeout (%s s), so the node had put its previous rules "
                "back by itself: %s. Raise microseg_confirm_timeout or apply in smaller batches (serial)."
                % (host, timeout, undone))
    return "Could not confirm the new rules on %s: %s" % (host, outcome.get("msg") or "unreachable")


class ActionModule(ActionBase):
    """host_firewall, plus the confirm of the revert it armed (see the module's auto_confirm)."""

    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp                  # unused: the tmpdir lives in self._connection._shell.tmpdir
        args = dict(self._task.args)
        check = args.pop("applied_check", None)
        if args.get("state", "present") == "present":
            result["steady"], reason = applied.steady(check, args)
            if check is not None:
                result["steady_reason"] = reason
            if result["steady"]:
                # the node holds this very request: the module would change nothing, so it does not run
                result.update(new_result(applied.request_of(args)["backend"]), reported=list(check.get("reported", [])),
                              boot_unit=check.get("boot_unit", ""))
                if result["reported"]:
                    result["warnings"] = list(result["reported"])
                return result
        result.update(self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars))
        token = result.get("confirm_token")
        if result.get("failed") or not token or not boolean(args.get("auto_confirm", True), strict=False):
            return result
        timeout = int(args.get("confirm_timeout", 0))
        confirm_args = {"state": "confirm", "confirm_token": token}
        if "lock_timeout" in args:
            confirm_args["lock_timeout"] = args["lock_timeout"]

        self._forget_tmpdir()
        outcome = self._over_new_connection(confirm_args, task_vars)
        cut = outcome is None
        if cut:
            # the new rules dropped the new connection: the node reverts by itself; then ask it what it did
            time.sleep(timeout + REVERT_MARGIN)
            outcome = self._over_new_connection(confirm_args, task_vars)
        self._forget_tmpdir()

        outcome = outcome or {}
        result["confirmed"] = bool(outcome.get("confirmed"))
        result["changed"] = result.get("changed", False) or bool(outcome.get("changed"))
        result["actions"] = list(result.get("actions", [])) + list(outcome.get("actions", []))
        if "rolled_back" in outcome:
            result["rolled_back"] = outcome["rolled_back"]
        message = confirm_failure(task_vars.get("inventory_hostname", "the node"), timeout, cut, outcome)
        if message:
            result.update(failed=True, msg=message)
        return result

    def _over_new_connection(self, module_args, task_vars):
        """Run the module over a new connection; None when the node cannot be reached."""
        try:
            if type(self._connection).reset is not ConnectionBase.reset:
                # a networked connection (ssh): close it, so the next command opens a new one.
                # Connections without a reset (local, podman exec) do not go through the firewall.
                self._connection.reset()
            return self._execute_module(module_name=MODULE, module_args=module_args, task_vars=task_vars)
        except AnsibleConnectionFailure:
            return None

    def _forget_tmpdir(self):
        """Remove the module's tmpdir while the node is reachable (and forget it when it is not):
        the cleanup after the task must not need a connection the new rules may have cut."""
        if self._connection._shell.tmpdir is not None:
            try:
                self._remove_tmp_path(self._connection._shell.tmpdir, force=True)
            except AnsibleConnectionFailure:
                pass
            self._connection._shell.tmpdir = None
