# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The steady state in one module run: what decides that a host_firewall run would change nothing.

A host_firewall run that applied (or found nothing to change) leaves on the node, next to the kept
rulesets, a record of its request: the options that say what the node's firewall must hold
(backend, variant, the rendered files - ruleset -, keep_dir, boot_script). On the next run, node_facts - the
one module run a node needs anyway, since what the node runs is read on every run - reads that
record back and runs host_firewall's own computation on it in check mode: does the live firewall
(and every kept file, the boot restore, no commit-confirm pending) still hold exactly that request?
It returns the request's digest and that answer, never the request itself.

The controller plans from the facts of this run, renders the request host_firewall would get and
takes its digest here (the action plugin, with the task's final arguments). When both digests are
equal and the node found its firewall holding the request, host_firewall would change nothing: the
task returns unchanged without a module run. Anything else - a new CNI port or peer (the plan
changed: another digest), a rule someone deleted (the live check failed), no record yet - runs
host_firewall as before, with the plan of this run. A stale plan is never applied: nothing is
applied from the record; it only lets the controller skip a run that would have done nothing.

Shared by the node (node/applied_record.py writes and checks the record) and the controller
(action/host_firewall.py decides): one definition of the request and its digest.
"""

from __future__ import annotations

import hashlib
import json

RECORD_NAME = "applied.json"
# 2: the rendered files in one option, ruleset (version 1 had one option per file): a record of
# version 1 is no record, and the next run applies once
RECORD_VERSION = 2
# host_firewall's options that say what the node must hold, with the module's defaults. The others
# (state, the confirm's, the lock's) change how a run goes, not what it leaves.
REQUEST_DEFAULTS = (
    ("backend", "iptables"),
    ("variant", "auto"),
    ("ruleset", None),
    ("keep_dir", None),
    ("boot_script", None),
)
REQUEST_KEYS = tuple(key for key, _default in REQUEST_DEFAULTS)


def ruleset_of(value):
    """The ruleset option as the request holds it: {file name: text}, a file with no text left out
    (the module takes a missing file as empty: both ask for the same)."""
    if not isinstance(value, dict):
        return {}
    return dict((str(name), str(text)) for name, text in value.items() if text)


def request_of(options):
    """The request of host_firewall options (a task's arguments or the module's params): every
    key of REQUEST_KEYS, the module's default where missing, text as text."""
    request = {}
    for key, default in REQUEST_DEFAULTS:
        value = options.get(key)
        if key == "ruleset":
            request[key] = ruleset_of(value)
        else:
            request[key] = default if value is None else str(value)
    return request


def digest(request):
    """The request's digest (hex SHA-256 of its canonical JSON)."""
    text = json.dumps(request_of(request), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def record_text(request):
    """The record's file text: stable, so an unchanged request leaves the file as it is."""
    return json.dumps({"version": RECORD_VERSION, "request": request_of(request)}, sort_keys=True, indent=1) + "\n"


def request_of_record(text):
    """The request a record's text holds; ValueError when it is not a record of this version."""
    content = json.loads(text)
    if not isinstance(content, dict) or content.get("version") != RECORD_VERSION \
            or not isinstance(content.get("request"), dict):
        raise ValueError("not a record of version %d" % RECORD_VERSION)
    if sorted(content["request"]) != sorted(REQUEST_KEYS):
        raise ValueError("its request has the keys %s, not %s" % (sorted(content["request"]), sorted(REQUEST_KEYS)))
    return request_of(content["request"])


def steady(check, options):
    """Whether host_firewall with these options would change nothing, from what node_facts found
    (`check`: its fact microseg_applied, or None). (True, why) or (False, why)."""
    if not isinstance(check, dict) or not check.get("digest"):
        why = (check or {}).get("differences") if isinstance(check, dict) else None
        return False, "no record of an applied run on the node%s" % (": " + "; ".join(why) if why else "")
    if check["digest"] != digest(request_of(options)):
        return False, "the plan differs from the one the node last applied"
    if check.get("in_sync") is not True:
        return False, "the node differs from what it last applied: %s" % (
            "; ".join(check.get("differences") or []) or "no reason given")
    return True, "the node holds this plan already (digest %s)" % check["digest"][:12]
