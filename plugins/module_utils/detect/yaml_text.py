# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one YAML reader of detection: the node's YAML files (k3s/RKE2 config.yaml and its
drop-ins, k0s.yaml, static pod manifests, the kubelet's config, antrea's configs, dqlite's
info.yaml) are parsed on the node with PyYAML's safe loader, never with regular expressions
(quoted values with comments after them, block scalars, flow lists, anchors and multi-document
files all read as the programs that own the files read them).

JSON needs no PyYAML: text that starts with `{` or `[` is tried as JSON first, so a node without
PyYAML still reads the JSON manifests and configs.

Secrets: these files hold join tokens and passwords. A syntax error is reported with its line,
column and PyYAML's description of the problem only, never PyYAML's own message (it quotes the
offending line, which may be `token: ...`), and quoted fragments of the description are cut.
"""

from __future__ import annotations

import json
import re
import sys

try:
    import yaml
except ImportError:                 # the facts role installs the distribution's package, then reads again
    yaml = None

# The reason given when PyYAML cannot be imported by the module's Python: the callers list the
# file as not read (yaml_unread) instead of guessing its settings.
MISSING = "not read: PyYAML is not installed for the node's Python (%s)" % sys.executable
# PyYAML's descriptions quote what they found (an alias's name, an escape, a tag); keep the
# token names (`'<block end>'`) and punctuation (`':'`, `'\t'`) that say what is wrong, cut
# anything that could be a piece of a value.
_QUOTED = re.compile(r"'([^']*)'|\"([^\"]*)\"")
_KEPT = re.compile(r"^(<[a-z ]+>|[^A-Za-z0-9]|\\[a-z])$")


class Unreadable(ValueError):
    """A YAML file that could not be read: `missing` when PyYAML is not there (the file may be
    fine), else not valid YAML. The message never quotes the file's content."""

    def __init__(self, reason):
        super(Unreadable, self).__init__(reason)
        self.missing = reason == MISSING


def available():
    return yaml is not None


def _cut(text):
    def keep(match):
        inner = match.group(1) if match.group(1) is not None else match.group(2)
        return match.group(0) if _KEPT.match(inner) else "'...'"
    return _QUOTED.sub(keep, text or "")


def _syntax_reason(error):
    mark = getattr(error, "problem_mark", None)
    problem = _cut(getattr(error, "problem", None) or getattr(error, "reason", None) or "")
    where = " at line %d, column %d" % (mark.line + 1, mark.column + 1) if mark is not None else ""
    return "not valid YAML%s%s" % (where, (": " + problem) if problem else "")


def load(text):
    """text -> (data, None), or (None, reason). data is the first YAML document (as k3s, RKE2, k0s
    and the kubelet read theirs; None for an empty file); reason is MISSING when PyYAML is not
    there, else why the text is not valid YAML (without any of its content)."""
    stripped = (text or "").lstrip()
    if stripped.startswith(("{", "[")):
        try:
            return json.loads(text), None
        except ValueError as error:
            if yaml is None:     # JSON's message gives a position only, never the text
                return None, "not valid JSON (%s)" % error
    if yaml is None:
        return None, MISSING
    try:
        for document in yaml.safe_load_all(text or ""):
            return document, None           # the first document; the others are not read
        return None, None
    except yaml.YAMLError as error:
        return None, _syntax_reason(error)


def parse(text):
    """text -> the first document; raises Unreadable (a ValueError) with load()'s reason."""
    data, reason = load(text)
    if reason is not None:
        raise Unreadable(reason)
    return data


def scalar(value):
    """A YAML scalar as the string a Go program's flag parsing sees it: true/false in lower case,
    numbers as written by YAML's resolver (6443), None as "". Lists and maps -> None."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return None
    return str(value)


def dotted_scalars(data, prefix=""):
    """Nested maps (k0s.yaml, antrea-agent.conf) -> {"spec.api.port": "6443", ...}: every scalar
    by its dotted key path, as a string (scalar()); lists and empty values are left out."""
    values = {}
    if not isinstance(data, dict):
        return values
    for key, value in data.items():
        name = prefix + scalar(key) if not isinstance(key, (list, dict)) else None
        if name is None:
            continue
        if isinstance(value, dict):
            values.update(dotted_scalars(value, name + "."))
        elif value is not None and not isinstance(value, list):
            values[name] = scalar(value)
    return values
