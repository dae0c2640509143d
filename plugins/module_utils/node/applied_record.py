# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""node_facts' check of the last applied request (module_utils/applied.py says why): read the
record host_firewall left in keep_dir, and run host_firewall's own computation on it in check mode
(host_firewall_run.apply: the live rules, the kept files, the boot restore) - the node holds it
when that run would change nothing. No second copy of what host_firewall compares."""

from __future__ import annotations

from ansible_collections.microseg.cluster_firewall.plugins.module_utils import applied
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.base import BackendError
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.hosts import backend_for
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.node import confirm, host_firewall_run, kept_files


class CheckOnly(object):
    """The module, in check mode and without diff, for host_firewall's computation: it reads the
    node and decides, and stops before the first change (apply's one check-mode decision)."""

    check_mode = True
    _diff = False

    def __init__(self, module):
        self._module = module

    def __getattr__(self, name):
        return getattr(self._module, name)


def read_request(keep_dir):
    """The request of the record in keep_dir; (None, why) when there is none to trust."""
    path = host_firewall_run.record_path(keep_dir)
    try:
        with open(path) as handle:
            text = handle.read()
    except (IOError, OSError) as error:
        return None, "no record of an applied run (%s)" % (error.strerror or error)
    try:
        return applied.request_of_record(text), None
    except ValueError as error:
        return None, "%s is not a record this version reads (%s)" % (path, error)


def check(module, keep_dir, pending_token=confirm.pending_token, make_backend=backend_for):
    """What node_facts returns as microseg_applied: {digest, in_sync, differences, reported,
    boot_unit}. digest is the digest of the recorded request ("" without a record); in_sync, that
    host_firewall with that request would change nothing; differences, why not."""
    found = {"digest": "", "in_sync": False, "differences": [], "reported": [], "boot_unit": ""}
    if not keep_dir:
        found["differences"] = ["no keep_dir: nothing is recorded"]
        return found
    request, why = read_request(keep_dir)
    if request is None:
        found["differences"] = [why]
        return found
    found["digest"] = applied.digest(request)
    if pending_token():
        found["differences"] = ["a commit-confirm is pending on the node"]
        return found
    if request["keep_dir"] != keep_dir:
        found["differences"] = ["the record names keep_dir %s, not %s" % (request["keep_dir"], keep_dir)]
        return found
    params = dict(request, state="present", confirm_timeout=0, confirm_token=None, auto_confirm=True,
                  lock_timeout=0)
    result = host_firewall_run.new_result(request["backend"])
    reader = CheckOnly(module)
    try:
        backend = make_backend(request["backend"], reader, params, result)
        host_firewall_run.apply(reader, params, result, backend)
    except (BackendError, kept_files.KeepError) as error:
        found["differences"] = ["host_firewall's check failed: %s" % error]
        return found
    found.update(in_sync=not result["changed"], differences=list(result["actions"]), reported=list(result["reported"]),
                 boot_unit=result["boot_unit"])
    return found
