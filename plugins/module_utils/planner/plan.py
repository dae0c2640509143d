# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan compiler: node roles + inventory + user policy -> one node's whitelist plan.

Pure functions on plain data. The plan is JSON-serialisable, deterministic (same input,
byte-identical output) and knows nothing of iptables or nft: backends render it.

Semantics (product guide, "cluster" section):
- the blacklist is evaluated first and its result is final: it drops in every whitelist state
  (microseg_blacklist_state can make a new blacklist count or log first), ahead of established
  connections and of traffic kube-proxy/Docker DNAT'ed; only loopback, essential ICMP and the
  management SSH path come before it;
- no rule configured = everything passes;
- the whitelist's states: monitor counts, alert logs (rate limited) and lets through, block
  drops; only block drops what the whitelist does not admit; monitor and alert accept nothing
  either (what the plan admits is passed on to the host's own firewall, never accepted ahead of it);
- essential ICMP (PMTU, neighbour discovery, MLD) comes before the blacklist, with loopback;
- host mode: what the whitelist does not admit gets the state's action;
  service mode: a port with whitelist entries admits only their sources, other ports pass;
- scope of cluster flows: node_ip (the nodes' own addresses), cidr (trusted CIDRs), port (any).
"""

from __future__ import annotations

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.errors import PlanError
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.conflicts import find_conflicts, find_overridden
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.flows import (
    base_flows,
    catalog_flows,
    essential_flows,
    export_flow,
    guard_flows,
    merge_flows,
    pass_on_admitted,
    sort_key,
    split_full_sets,
    user_flows,
)
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.inputs import (
    ANY,
    NODE_NETWORKS,
    PLAN_FORMAT,
    STATE_ACTION,
    normalise_node,
    normalise_policy,
    short_list,
    var,
)
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.sets import AddressSets, Cluster


def _check_missing_peers(sets, policy):
    """Peers that could not be placed in a set (no known address) lose the flows the plan admits
    them: say which; with state block that cuts them, so the node's plan is refused unless the
    user accepts it (microseg_allow_missing_peers)."""
    if not sets.missing:
        return
    hosts = ["%s (%s)" % (host, ", ".join(sorted(names))) for host, names in sorted(sets.missing.items())]
    fix = ("give them microseg_node_addresses or an IP address as ansible_host, or gather their facts "
           "(with --limit, keep a fact cache)")
    if policy["state"] == "block" and not policy["allow_missing_peers"]:
        raise PlanError("%d peer(s) have no known address, so state block would cut what the plan admits them: %s; "
                        "%s, or set %s: true to apply without them"
                        % (len(hosts), short_list(hosts), fix, var("allow_missing_peers")))
    sets.warn("%d peer(s) have no known address and are left out of the sets: %s; %s"
              % (len(hosts), short_list(hosts), fix))


def compile_plans(inputs, inventory):
    """Plan many nodes against one inventory, sharing the cluster-wide work: `inputs` is a list
    of {"node": ..., "policy": ...}; the result maps each node's name to {"plan": plan} or
    {"error": text}, so that one node's bad input stops that node only. A bad inventory stops
    all of them: every plan reads it, so every node of the batch gets the same one-line error
    (the run shows each of them failed, not only the host that planned the batch)."""
    names = _input_names(inputs)
    try:
        cluster = Cluster(inventory)
    except PlanError as error:
        refusal = "not planned: the inventory was refused, and every plan of the batch reads it: %s" % error
        return dict((name, {"error": refusal}) for name in names)
    result = {}
    for name, item in zip(names, inputs):
        try:
            result[name] = {"plan": compile_plan(item["node"], cluster, item.get("policy"))}
        except PlanError as error:
            result[name] = {"error": str(error)}
    return result


def _ordered_rules(node, policy, sets, blacklist, whitelist, state_action):
    """The rules in the product's order: base (loopback, established, management), the blacklist
    first and final, essential ICMP, the whitelist, then the default (host mode) or the guards
    (service mode); merged, and in monitor/alert passed on instead of accepted.
    -> (rules, the management rules, the chain's default)."""
    first = base_flows(node, sets, policy["management_access"])
    management = [flow for flow in first if flow["phase"] == "management"]
    rules = first + blacklist + essential_flows(node, policy) + whitelist
    default = "return"
    if whitelist and policy["mode"] == "host":
        default = state_action
    elif whitelist:
        rules += guard_flows(whitelist, state_action)
    rules = split_full_sets(sorted(merge_flows(rules), key=sort_key), sets)
    if policy["state"] != "block":
        rules = pass_on_admitted(rules)
    return rules, management, default


def _sets_used(rules, sets):
    """The names of the sets the rules refer to; a rule whose sets are empty is warned of (it
    admits nobody, or nothing)."""
    used = set()
    for flow in rules:
        if flow["sources"] != ANY:
            used.update(flow["sources"])
        used.update(flow["destinations"])
    for flow in rules:
        if flow["sources"] != ANY and not sets.families(flow["sources"]):
            sets.warn("rule %s admits nobody: its source set(s) %s are empty"
                      % (", ".join(why["id"] for why in flow["why"]), ", ".join(flow["sources"])))
        elif flow["destinations"] and not sets.families(flow["destinations"]):
            sets.warn("rule %s admits nothing: its destination set %s is empty"
                      % (", ".join(why["id"] for why in flow["why"]), ", ".join(flow["destinations"])))
    return used


def _input_names(inputs):
    """The node names of compile_plans' inputs, checked first (a malformed input is the caller's bug)."""
    names = []
    for index, item in enumerate(inputs):
        if not isinstance(item, dict) or not isinstance(item.get("node"), dict):
            raise PlanError("inputs[%d]: %r must be a dict with 'node' and 'policy'" % (index, item))
        if not item["node"].get("name"):
            raise PlanError("inputs[%d]: the node has no name: %r" % (index, item["node"]))
        names.append(item["node"]["name"])
    return names


def compile_plan(node, inventory, policy):
    """Validate everything, then build one node's plan (a plain, JSON-serialisable dict).
    `inventory` is the planner inventory, or a Cluster made of it to plan many nodes."""
    policy = normalise_policy(policy)
    cluster = inventory if isinstance(inventory, Cluster) else Cluster(inventory)
    if isinstance(node, dict) and isinstance(node.get("name"), str):
        cluster = cluster.of(node["name"])          # its own cluster's hosts (microseg_cluster)
    node = normalise_node(node, cluster)
    sets = AddressSets(cluster, node, policy)
    for warning in node["warnings"]:
        sets.warn(warning)

    whitelist, notes = catalog_flows(node, policy, sets)
    user_whitelist = user_flows("whitelist", policy, sets)
    for warning in find_overridden(whitelist, user_whitelist, policy["scope"]):
        sets.warn(warning)
    whitelist += user_whitelist
    blacklist = user_flows("blacklist", policy, sets)
    state_action = STATE_ACTION[policy["state"]]

    passthrough = not whitelist and not blacklist
    rules, management, default = ([], [], "return") if passthrough else _ordered_rules(
        node, policy, sets, blacklist, whitelist, state_action)
    _check_missing_peers(sets, policy)

    used = _sets_used(rules, sets)
    return {
        "format": PLAN_FORMAT,
        "node": node["name"],
        "roles": sorted(node["roles"]),
        "addresses": [str(address.ip) for address in node["addresses"]],
        "address_origin": node["address_origin"],
        "networks": dict((key, {"cidrs": [str(network) for network in node[key]], "origin": node["network_origins"][key]})
                         for key in NODE_NETWORKS),
        "features": sorted(node["features"]),
        "policy": {"state": policy["state"], "mode": policy["mode"], "scope": policy["scope"]},
        "passthrough": passthrough,
        "default": default,
        "sets": sets.export(used),
        "rules": [export_flow(flow, sets) for flow in rules],
        "notes": notes + [{"id": "detection", "text": text} for text in node["detection_notes"]],
        "warnings": list(sets.warnings),
        "conflicts": find_conflicts(blacklist, whitelist, management, sets),
        "blocked_by": list(node["blockers"]),
    }
