# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter whitelist_plans: thin glue over module_utils.planner.plan.compile_plans (docs in whitelist_plans.yml)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.errors import PlanError

# module_utils are imported inside the filters (Ansible loads every filter file of the collection
# in each worker: docs/architecture.md, "The steady state")


def whitelist_plans(inputs, inventory, review=False):
    from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.plan import compile_plans
    from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.review import compile_plans_for_review

    if not isinstance(inputs, (list, tuple)):
        raise AnsibleFilterError("whitelist_plans: expects a list of {'node': ..., 'policy': ...}, got %r"
                                 % type(inputs).__name__)
    try:
        return (compile_plans_for_review if review else compile_plans)(list(inputs), inventory)
    except PlanError as error:
        raise AnsibleFilterError("whitelist_plans: %s" % error)


class FilterModule(object):
    def filters(self):
        return {"whitelist_plans": whitelist_plans}
