# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The filter plugins are glue: they pass through, and turn bad input into AnsibleFilterError."""
from __future__ import annotations

import re

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.microseg.cluster_firewall.plugins.filter import cluster_inventory, plan_table, whitelist_plan, whitelist_plans

INVENTORY = {"hosts": {"cp1": {"addresses": ["192.0.2.11"]}}, "groups": {"kube_control_plane": ["cp1"]}}


def test_filters_are_registered_under_their_names():
    assert "whitelist_plan" in whitelist_plan.FilterModule().filters()
    assert "plan_table" in plan_table.FilterModule().filters()
    assert "cluster_inventory" in cluster_inventory.FilterModule().filters()
    assert "whitelist_plans" in whitelist_plans.FilterModule().filters()


def test_whitelist_plan_and_table():
    plan = whitelist_plan.whitelist_plan({"name": "cp1"}, INVENTORY, {"mode": "host"})
    assert plan["node"] == "cp1" and plan["default"] == "drop"
    assert plan_table.plan_table(plan).startswith("cp1  roles:")


def test_bad_policy_becomes_a_filter_error_naming_the_value():
    with pytest.raises(AnsibleFilterError, match=r"whitelist_plan: microseg_whitelist\[0\].port: port 70000"):
        whitelist_plan.whitelist_plan({"name": "cp1"}, INVENTORY, {"whitelist": [{"port": 70000}]})


def test_plan_table_refuses_what_is_not_a_plan():
    with pytest.raises(AnsibleFilterError, match="expects a plan"):
        plan_table.plan_table("nope")
    with pytest.raises(AnsibleFilterError, match="plan_markdown: expects a plan"):
        plan_table.plan_markdown("nope")


def test_plan_table_options_are_checked():
    plan = whitelist_plan.whitelist_plan({"name": "cp1"}, INVENTORY, {"mode": "host"})
    assert "plan_markdown" in plan_table.FilterModule().filters()
    with pytest.raises(AnsibleFilterError, match="brief must be true or false, got 'yes'"):
        plan_table.plan_table(plan, brief="yes")
    with pytest.raises(AnsibleFilterError, match=r"width must be a number of columns \(0: no bound\), got -1"):
        plan_table.plan_table(plan, width=-1)
    assert plan_table.plan_table(plan, width=0) == plan_table.plan_table(plan)


def test_cluster_inventory_errors():
    with pytest.raises(AnsibleFilterError, match="must be the 'groups' variable"):
        cluster_inventory.cluster_inventory({}, ["all"])
    with pytest.raises(AnsibleFilterError, match="host 'ghost' is not in hostvars"):
        cluster_inventory.cluster_inventory({}, {"all": ["ghost"]})


def test_whitelist_plans_stops_only_the_node_whose_input_is_bad():
    inventory = {"hosts": {"cp1": {"addresses": ["192.0.2.11"]}, "w1": {"addresses": ["192.0.2.21"]}},
                 "groups": {"kube_control_plane": ["cp1"], "kube_node": ["w1"]}}
    result = whitelist_plans.whitelist_plans([{"node": {"name": "cp1"}, "policy": {"mode": "host"}},
                                              {"node": {"name": "w1"}, "policy": {"whitelist": [{"port": 70000}]}}],
                                             inventory)
    assert result["cp1"]["plan"] == whitelist_plan.whitelist_plan({"name": "cp1"}, inventory, {"mode": "host"})
    assert result["w1"]["error"].startswith("microseg_whitelist[0].port: port 70000 is out of range; allowed: a port 1-65535")
    assert "plan" not in result["w1"]


def test_whitelist_plans_refuses_a_bad_inventory_or_input_list():
    with pytest.raises(AnsibleFilterError, match="whitelist_plans: expects a list"):
        whitelist_plans.whitelist_plans({"node": {"name": "cp1"}}, INVENTORY)
    # a refused inventory is every node's error, one line each (the role fails every host with it)
    refused = whitelist_plans.whitelist_plans([{"node": {"name": "cp1"}}], {"hosts": {"cp1": {"addresses": ["10.0.0.0/33"]}}, "groups": {}})
    assert re.match(r"not planned: the inventory was refused.*inventory host cp1 address\[0\]: '10.0.0.0/33' is not a valid",
                    refused["cp1"]["error"])
    with pytest.raises(AnsibleFilterError, match=r"whitelist_plans: inputs\[0\]: the node has no name"):
        whitelist_plans.whitelist_plans([{"node": {}}], INVENTORY)
