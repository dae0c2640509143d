# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What detection says of a node (a backend it cannot plan, Tailscale's addresses, installer and
node disagreeing) reaches the plan's notes, so the plan file and its table say it: it used to stay
in the microseg_profile fact, which no report showed."""
from __future__ import annotations

import pytest

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.errors import PlanError
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.plan import compile_plan
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.report import plan_table

INVENTORY = {"hosts": {"w1": {"addresses": ["192.0.2.21"]}}, "groups": {"kube_node": ["w1"]}}
NOTE = "flannel's extension backend (net-conf.json): what it needs between nodes is unknown and not planned"


def test_detection_notes_are_the_plans_notes_and_its_table_shows_them():
    plan = compile_plan({"name": "w1", "notes": [NOTE]}, INVENTORY, {"mode": "host"})
    assert {"id": "detection", "text": NOTE} in plan["notes"]
    assert NOTE in plan_table(plan)


def test_a_node_without_notes_has_none_from_detection():
    plan = compile_plan({"name": "w1"}, INVENTORY, {"mode": "host"})
    assert not [note for note in plan["notes"] if note["id"] == "detection"]


def test_notes_must_be_a_list_of_text():
    with pytest.raises(PlanError, match="node w1 notes"):
        compile_plan({"name": "w1", "notes": {"a": 1}}, INVENTORY, {"mode": "host"})
