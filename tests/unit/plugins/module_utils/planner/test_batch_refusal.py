# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A refused inventory stops the whole batch with one line per node, every node failed (issue 36
item 6); a user's network list given as one string is checked whole, not character by character."""
from __future__ import annotations

import pytest

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.errors import PlanError
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.plan import compile_plans
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.profile import build_profile
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.review import compile_plans_for_review

BAD = {"hosts": {"cp1": {"addresses": ["10.99.0.1"]},
                 "w1": {"addresses": ["10.99.0.2"],
                        "cluster_networks": {"pod_cidrs": {"networks": ["10.244.0.0/33"], "origin": "microseg_pod_cidrs"}}}},
       "groups": {"kube_control_plane": ["cp1"], "kube_node": ["cp1", "w1"]}}
GOOD = {"hosts": {"cp1": {"addresses": ["10.99.0.1"]}, "w1": {"addresses": ["10.99.0.2"]}},
        "groups": BAD["groups"]}
POLICY = {"mode": "host", "state": "monitor"}


def inputs():
    return [{"node": {"name": name}, "policy": POLICY} for name in ("cp1", "w1")]


@pytest.mark.parametrize("compile_batch", [compile_plans, compile_plans_for_review])
def test_a_refused_inventory_fails_every_node_of_the_batch_with_the_same_line(compile_batch):
    result = compile_batch(inputs(), BAD)
    assert set(result) == {"cp1", "w1"}
    errors = set(entry.get("error") for entry in result.values())
    assert len(errors) == 1
    error = errors.pop()
    assert error.startswith("not planned: the inventory was refused")
    assert "inventory host w1" in error and "'10.244.0.0/33'" in error and "\n" not in error


def test_a_good_inventory_plans_every_node():
    # the control: the same batch with a valid inventory is planned
    assert all("plan" in entry for entry in compile_plans(inputs(), GOOD).values())


def test_a_malformed_input_is_still_the_callers_error():
    with pytest.raises(PlanError, match=r"inputs\[1\]"):
        compile_plans([inputs()[0], {"policy": POLICY}], GOOD)


@pytest.mark.parametrize("given, expected", [
    ("10.244.0.0/16", ["10.244.0.0/16"]),
    ("10.244.0.0/16, fd00:10:244::/56", ["10.244.0.0/16", "fd00:10:244::/56"]),
    (["10.244.0.0/16"], ["10.244.0.0/16"]),
])
def test_a_pod_network_given_as_one_string_is_split_on_commas_never_into_characters(given, expected):
    profile = build_profile("w1", ["kube_node"], pod_cidrs=given)
    assert profile["pod_cidrs"] == expected
