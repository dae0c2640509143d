# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter plan_table: thin glue over module_utils.report.plan_table (docs in plan_table.yml)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.report import plan_table as render


def plan_table(plan):
    if not isinstance(plan, dict) or "rules" not in plan:
        raise AnsibleFilterError("plan_table: expects a plan made by microseg.cluster_firewall.whitelist_plan, got %r"
                                 % type(plan).__name__)
    return render(plan)


class FilterModule(object):
    def filters(self):
        return {"plan_table": plan_table}
