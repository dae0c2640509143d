# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Offline, a k3s or RKE2 agent runs the CNI its servers set: RKE2's `cni` and k3s's
`--flannel-backend` are server settings, and the installers' samples put them where only the
servers see them (rke2-ansible's advanced sample: `group_rke2_config: {cni: [cilium]}` in
group_vars/rke2_servers.yml; k3s-ansible: extra_server_args). An agent whose own variables give
only the distribution's default is planned with its servers' CNI, and the plan says so."""
from __future__ import annotations

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.inventory import build_inventory
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.plan import compile_plan
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.profile import build_profile
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.verify import evaluate

POLICY = {"mode": "host", "state": "block"}
SERVER, AGENT, OTHER_SERVER = "10.9.0.1", "10.9.0.2", "10.9.0.3"


def plan_agent(groups, hostvars_by_host, addresses):
    """The agent's offline plan, each host's profile made as plan.yml makes it (no node detected)."""
    hostvars = {}
    for name, variables in hostvars_by_host.items():
        profile = build_profile(name, groups[name], {}, {}, installer=variables)
        hostvars[name] = dict(variables, ansible_host=addresses[name], microseg_profile=profile, group_names=groups[name])
    all_groups = {"all": list(groups)}
    for name, names in groups.items():
        for group in names:
            all_groups.setdefault(group, []).append(name)
    inventory = build_inventory(hostvars, all_groups)
    profile = hostvars["agent"]["microseg_profile"]
    node = {"name": "agent", "features": profile["features"], "ports": profile["ports"],
            "port_origins": profile["port_origins"], "notes": profile["notes"]}
    return compile_plan(node, inventory, POLICY)


RKE2_GROUPS = {"server": ["rke2_cluster", "rke2_servers"], "agent": ["rke2_cluster", "rke2_agents"]}


def test_an_rke2_agent_takes_the_cni_its_servers_group_vars_set():
    plan = plan_agent(RKE2_GROUPS, {"server": {"group_rke2_config": {"cni": ["cilium"]}}, "agent": {}},
                      {"server": SERVER, "agent": AGENT})
    assert evaluate(plan, SERVER, "tcp", 4240) == "accept"          # Cilium's health checks
    assert evaluate(plan, SERVER, "udp", 8472) == "accept"          # Cilium's VXLAN
    assert evaluate(plan, SERVER, "tcp", 9099) == "drop"            # canal's health port: not run
    notes = " ".join(str(note) for note in plan["notes"])
    assert "CNI cilium from its server server" in notes, plan["notes"]


def test_an_rke2_agent_alone_keeps_rke2s_default_canal():
    # the negative control: no server says otherwise, so RKE2's default stands
    plan = plan_agent(RKE2_GROUPS, {"server": {}, "agent": {}}, {"server": SERVER, "agent": AGENT})
    assert evaluate(plan, SERVER, "udp", 8472) == "accept"          # canal's flannel VXLAN
    assert evaluate(plan, SERVER, "tcp", 4240) == "drop"
    assert "from its server" not in " ".join(str(note) for note in plan["notes"])


def test_an_rke2_flannel_servers_port_reaches_the_agent():
    plan = plan_agent(RKE2_GROUPS, {"server": {"group_rke2_config": {"cni": "flannel"}}, "agent": {}},
                      {"server": SERVER, "agent": AGENT})
    assert evaluate(plan, SERVER, "udp", 4789) == "accept"          # rke2-flannel's backendPort
    assert evaluate(plan, SERVER, "udp", 8472) == "drop"


def test_a_k3s_agent_takes_its_servers_flannel_backend_and_two_servers_that_differ_are_said():
    groups = {"s1": ["k3s_cluster", "server"], "s2": ["k3s_cluster", "server"], "agent": ["k3s_cluster", "agent"]}
    plan = plan_agent(groups, {"s1": {"extra_server_args": "--flannel-backend=wireguard-native"},
                               "s2": {"extra_server_args": "--flannel-backend=host-gw"}, "agent": {}},
                      {"s1": SERVER, "s2": OTHER_SERVER, "agent": AGENT})
    assert evaluate(plan, SERVER, "udp", 51820) == "accept"         # flannel's wireguard-native
    assert evaluate(plan, SERVER, "udp", 8472) == "drop"            # k3s's default vxlan: not run
    notes = " ".join(str(note) for note in plan["notes"])
    assert "s1's is used" in notes, plan["notes"]


def test_an_agent_whose_own_variables_name_a_cni_keeps_it():
    plan = plan_agent(RKE2_GROUPS, {"server": {"group_rke2_config": {"cni": ["cilium"]}},
                                    "agent": {"group_rke2_config": {"cni": "flannel"}}},
                      {"server": SERVER, "agent": AGENT})
    assert evaluate(plan, SERVER, "udp", 4789) == "accept"
    assert evaluate(plan, SERVER, "tcp", 4240) == "drop"
