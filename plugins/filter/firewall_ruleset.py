# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters over the backends' pure halves (backends/registry.py): firewall_ruleset (a plan -> a
backend's files), backend_packages and firewall_backends (docs in the adjacent .yml files). None
names a backend: the registry does."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

# module_utils are imported inside the filters (Ansible loads every filter file of the collection
# in each worker: docs/architecture.md, "The steady state")


def _spec(filter_name, backend):
    from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends import registry

    try:
        return registry.spec_of(backend)
    except ValueError as error:
        raise AnsibleFilterError("%s: %s" % (filter_name, error))


def firewall_ruleset(plan, backend, file=None):
    """{file name: text} of the backend for the plan; with `file`, that file's text."""
    if not isinstance(plan, dict) or "rules" not in plan:
        raise AnsibleFilterError("firewall_ruleset: expects a plan made by microseg.cluster_firewall.whitelist_plan")
    spec = _spec("firewall_ruleset", backend)
    if file is not None and file not in spec.files:
        raise AnsibleFilterError("firewall_ruleset: %r is not a file of the %s backend; allowed: %s"
                                 % (file, backend, ", ".join(spec.files)))
    try:
        files = spec.render(plan)
    except ValueError as error:          # a plan this backend cannot express (e.g. a set name)
        raise AnsibleFilterError("firewall_ruleset(%r): %s" % (backend, error))
    return files if file is None else files[file]


def backend_packages(backend):
    """{command the backend runs: the package that brings it}."""
    return dict(_spec("backend_packages", backend).packages)


def firewall_backends(selection="all"):
    """The backends' names: every one for 'all', the default one (host_firewall's, and auto's
    without firewall facts) for 'default', else the one named (checked)."""
    from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends import registry

    if selection == "all":
        return list(registry.NAMES)
    if selection == "default":
        return [registry.DEFAULT]
    return [_spec("firewall_backends", selection).name]


class FilterModule(object):
    def filters(self):
        return {"firewall_ruleset": firewall_ruleset, "backend_packages": backend_packages,
                "firewall_backends": firewall_backends}
