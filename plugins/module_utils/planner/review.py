# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plans for review (playbooks/plan.yml, playbooks/audit.yml): what nothing applies.

In state block, a plan with peers of no known address is refused (plan.compile_plan): applying it
would cut them. A review is no apply: the operator needs the plan and what to add, so such a node
is planned without those peers and its plan says that site.yml would refuse it, and why."""

from __future__ import annotations

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.errors import PlanError
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.plan import compile_plan, compile_plans
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.sets import Cluster


def compile_plans_for_review(inputs, inventory):
    """compile_plans, and a node refused only because applying its plan would cut peers of no
    known address is planned without them: the plan, with the refusal as its first warning."""
    result = compile_plans(inputs, inventory)
    refused = [item for item in inputs if "error" in result[item["node"]["name"]]]
    refused = [item for item in refused if (item.get("policy") or {}).get("allow_missing_peers") is not True]
    if not refused:
        return result
    try:
        cluster = Cluster(inventory)
    except PlanError:
        return result                   # the inventory itself was refused: every node says so
    for item in refused:
        name = item["node"]["name"]
        try:
            plan = compile_plan(item["node"], cluster, dict(item.get("policy") or {}, allow_missing_peers=True))
        except PlanError:
            continue                    # refused for another reason too: the refusal stands
        # The only difference is allow_missing_peers, so the refusal was the peers of no address.
        plan["warnings"].insert(0, "shown for review only: site.yml refuses to apply this plan: %s"
                                % result[name]["error"])
        result[name] = {"plan": plan}
    return result
