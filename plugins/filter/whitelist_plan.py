# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter whitelist_plan: thin glue over module_utils.planner.plan.compile_plan (docs in whitelist_plan.yml)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.errors import PlanError

# What a filter needs from module_utils is imported where it runs, not at the top: for any one
# filter of a collection, Ansible loads every filter file of it, in each worker process (one per
# host and task), so a top-level import here costs every task that uses any filter of this collection.


def whitelist_plan(node, inventory, policy=None):
    from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.plan import compile_plan

    try:
        return compile_plan(node, inventory, policy or {})
    except PlanError as error:
        raise AnsibleFilterError("whitelist_plan: %s" % error)


class FilterModule(object):
    def filters(self):
        return {"whitelist_plan": whitelist_plan}
