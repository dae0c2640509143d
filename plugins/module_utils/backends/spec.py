# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the controller knows of a backend, pure (no node call, importable anywhere): the pure half
of each backend package (backends/<name>/spec.py) is one Spec, and backends/registry.py lists them.

A Spec says
- `name`;
- `files`: the names of the files the backend renders from a plan (host_firewall's `ruleset`
  option maps each to its text); `kept`: those kept in keep_dir for the boot restore, in restore
  order;
- `packages`: {command the node half runs: the package that brings it} (the same name on Debian,
  Ubuntu, EL, SUSE and Alpine);
- `render(plan)`: {file name: text}, every one of `files`;
- `choices`: ((rank, chosen), ...): `chosen(evidence)` returns why this backend suits a node, or
  None; microseg_backend: auto takes the reason of lowest rank over every backend
  (registry.choose). evidence: {"firewall": firewall_facts, "kube_proxy_mode", "docker_backend"};
- `blockers(firewall_facts)`: what on the node would still drop, after our rules, what the plan
  admits ([text]);
- `removes`: what state=absent deletes, one line for the documentation;
- `notes(node_name, firewall_facts)`: what the node's own firewall means for the plan with this
  backend, for the plan's notes ([text]; none by default).
"""

from __future__ import annotations


class Spec(object):
    """One backend as the controller sees it (see the module's docstring)."""

    def __init__(self, name, files, kept, packages, render, choices, blockers, removes, notes=None):
        self.name = name
        self.files = tuple(files)
        self.kept = tuple(kept)
        self.packages = dict(packages)
        self.render = render
        self.choices = tuple(choices)
        self.blockers = blockers
        self.removes = removes
        self.notes = notes or (lambda node_name, facts: [])

    def __repr__(self):
        return "Spec(%r)" % self.name

    def ruleset(self, given):
        """host_firewall's `ruleset` option -> {file name: text} with every one of `files` ("" when
        missing); ValueError naming a key that is not one of them, or a value that is not text."""
        given = given or {}
        if not isinstance(given, dict):
            raise ValueError("ruleset: expects a mapping of file name to text, got %s" % type(given).__name__)
        for key, value in sorted(given.items()):
            if key not in self.files:
                raise ValueError("ruleset: %r is not a file of the %s backend; allowed: %s"
                                 % (key, self.name, ", ".join(self.files)))
            if not isinstance(value, str):
                raise ValueError("ruleset: %r of the %s backend must be text, got %s"
                                 % (key, self.name, type(value).__name__))
        return dict((name, given.get(name) or "") for name in self.files)


def firewall_of(evidence):
    """The firewall facts in a chooser's evidence ({} when there are none)."""
    return (evidence or {}).get("firewall") or {}


def iptables_rules(facts):
    """How many rules iptables holds (both variants), from firewall_facts."""
    iptables = facts.get("iptables") or {}
    return (iptables.get("legacy_rules") or 0) + (iptables.get("nft_rules") or 0)


def present(facts, tool):
    """Whether firewall_facts say the node has iptables or nft (tool: "iptables" or "nftables")."""
    return bool((facts.get(tool) or {}).get("present"))
