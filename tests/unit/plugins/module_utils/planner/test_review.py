# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plans for review (plan.yml, audit.yml): a node refused only for peers of no known address is
shown, with the refusal; any other refusal stands (issue 34, item 12)."""
from __future__ import annotations

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.plan import compile_plans
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.review import compile_plans_for_review

# rke2-ansible's basic sample: hosts named by DNS name, no address anywhere
INVENTORY = {"hosts": {"server0.example.com": {"addresses": []}, "agent0.example.com": {"addresses": []}},
             "groups": {"rke2_servers": ["server0.example.com"], "rke2_agents": ["agent0.example.com"]}}
BLOCK = {"mode": "host", "state": "block"}


def inputs(policy):
    return [{"node": {"name": name}, "policy": policy} for name in ("server0.example.com", "agent0.example.com")]


def test_applying_refuses_and_a_review_shows_the_plan_with_the_refusal():
    applied = compile_plans(inputs(BLOCK), INVENTORY)
    assert "state block would cut" in applied["server0.example.com"]["error"]
    reviewed = compile_plans_for_review(inputs(BLOCK), INVENTORY)
    plan = reviewed["server0.example.com"]["plan"]
    assert plan["warnings"][0] == ("shown for review only: site.yml refuses to apply this plan: "
                                   + applied["server0.example.com"]["error"])
    assert plan["policy"]["state"] == "block" and plan["default"] == "drop"
    assert "etcd_client" in [why["id"] for rule in plan["rules"] for why in rule["why"]]


def test_another_refusal_stands_in_a_review():
    policy = dict(BLOCK, whitelist=[{"port": 70000}])
    reviewed = compile_plans_for_review(inputs(policy), INVENTORY)
    assert "port 70000 is out of range" in reviewed["agent0.example.com"]["error"]


def test_a_plan_nothing_refused_is_the_same_for_review():
    policy = dict(BLOCK, allow_missing_peers=True)
    assert compile_plans_for_review(inputs(policy), INVENTORY) == compile_plans(inputs(policy), INVENTORY)
    monitor = {"mode": "host", "state": "monitor"}
    assert compile_plans_for_review(inputs(monitor), INVENTORY) == compile_plans(inputs(monitor), INVENTORY)
