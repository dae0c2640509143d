# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters plan_table, plan_summary and plan_markdown: thin glue over module_utils.report (docs in
plan_table.yml, plan_summary.yml and plan_markdown.yml)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

# module_utils are imported inside the filters (Ansible loads every filter file of the collection
# in each worker: docs/architecture.md, "The steady state")


def _checked(name, plan):
    if not isinstance(plan, dict) or "rules" not in plan:
        raise AnsibleFilterError("%s: expects a plan made by microseg.cluster_firewall.whitelist_plan, got %r"
                                 % (name, type(plan).__name__))
    return plan


def plan_table(plan, brief=False, width=0):
    from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner import report

    if not isinstance(brief, bool):
        raise AnsibleFilterError("plan_table: brief must be true or false, got %r" % (brief,))
    if isinstance(width, bool) or not isinstance(width, int) or width < 0:
        raise AnsibleFilterError("plan_table: width must be a number of columns (0: no bound), got %r" % (width,))
    return report.plan_table(_checked("plan_table", plan), brief=brief, width=width or None)


def plan_summary(plan):
    from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner import report

    return report.plan_summary(_checked("plan_summary", plan))


def plan_markdown(plan):
    from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner import report

    return report.plan_markdown(_checked("plan_markdown", plan))


class FilterModule(object):
    def filters(self):
        return {"plan_table": plan_table, "plan_summary": plan_summary, "plan_markdown": plan_markdown}
