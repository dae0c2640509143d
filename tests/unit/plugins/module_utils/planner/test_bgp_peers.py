# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""microseg_bgp_peers: BGP routers and route reflectors outside the inventory."""
from __future__ import annotations

import pytest

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.errors import PlanError
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.plan import compile_plan


def test_bgp_peers_outside_the_inventory_are_admitted_to_calico_bgp_only():
    inventory = {"hosts": {"cp1": {"addresses": ["10.0.0.1"], "roles": ["kube_control_plane"]},
                           "w1": {"addresses": ["10.0.0.2"], "roles": ["kube_node"]}}, "groups": {}}
    policy = {"mode": "host", "state": "block", "bgp_peers": ["192.0.2.250", "192.0.2.251"]}
    plan = compile_plan({"name": "w1", "features": ["calico_bgp"]}, inventory, policy)
    bgp = [rule for rule in plan["rules"] if rule["phase"] == "whitelist" and rule["ports"] == ["179"]]
    assert len(bgp) == 1 and "bgp_peers" in bgp[0]["from"] and "cluster_nodes" in bgp[0]["from"], bgp
    assert plan["sets"]["bgp_peers"]["ipv4"] == ["192.0.2.250/31"]
    others = [rule for rule in plan["rules"] if "bgp_peers" in rule["from"] and rule["ports"] != ["179"]]
    assert others == []
    without_bgp = compile_plan({"name": "w1", "features": ["flannel_vxlan"]}, inventory, policy)
    assert "bgp_peers" not in without_bgp["sets"]
    assert any("microseg_bgp_peers is set, but this node runs none of calico_bgp" in line
               for line in without_bgp["warnings"])


def test_bgp_peers_are_validated_naming_the_value():
    inventory = {"hosts": {"w1": {"addresses": ["10.0.0.2"], "roles": ["kube_node"]}}, "groups": {}}
    with pytest.raises(PlanError, match="10.0.0.300"):
        compile_plan({"name": "w1", "features": ["calico_bgp"]}, inventory, {"bgp_peers": ["10.0.0.300"]})
