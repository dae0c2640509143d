# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter whitelist_plan: thin glue over module_utils.planner.plan.compile_plan (docs in whitelist_plan.yml)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.errors import PlanError

# module_utils are imported inside the filters (Ansible loads every filter file of the collection
# in each worker: docs/architecture.md, "The steady state")


def whitelist_plan(node, inventory, policy=None):
    from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.plan import compile_plan

    try:
        return compile_plan(node, inventory, policy or {})
    except PlanError as error:
        raise AnsibleFilterError("whitelist_plan: %s" % error)


class FilterModule(object):
    def filters(self):
        return {"whitelist_plan": whitelist_plan}
