# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Apply benchmark: the same whitelist on N lab nodes, three ways, side by side.

(a) playbooks/site.yml (detect, plan, apply: one restore transaction per node);
(b) benchmarks/baseline.yml: the same rules with one ansible.builtin.iptables task per rule,
    per source address, per port (as users do it today), on fresh nodes;
(c) each of them run a second time (nothing to change).
Each run gets fresh lab nodes (podman, lab/image.sh); they are removed afterwards.
The collection runs once per backend (--backends: iptables, nftables), against the same baseline.
Usage: python benchmarks/bench_apply.py [--sizes 3 10 20] [--backends iptables nftables]
"""

import argparse
import ipaddress
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fleet  # noqa: E402
import lab  # noqa: E402

JUMPS = {"accept": "ACCEPT", "drop": "DROP"}
MATCHES = {"loopback": {"in_interface": "lo"}, "established": {"ctstate": ["ESTABLISHED", "RELATED"]},
           "dnat": {"ctstate": ["DNAT"]}}


def policy_vars():
    variables = dict(("microseg_" + key, value) for key, value in fleet.POLICY.items())
    variables["microseg_features"] = fleet.FEATURES
    return variables


def per_peer(cidrs, peers):
    """The plan's CIDRs, each CIDR that holds only peers (the planner joins neighbouring node
    addresses, as lab nodes on one podman network have) given back as those peers' addresses."""
    found = []
    for cidr in cidrs:
        network = ipaddress.ip_network(cidr)
        inside = [peer for peer in peers if ipaddress.ip_address(peer) in network]
        found += [str(ipaddress.ip_network(peer)) for peer in inside] if len(inside) == network.num_addresses \
            else [str(network)]
    return found


def baseline_rules(plan, peers=()):
    """A plan -> one ansible.builtin.iptables item per rule, family, source address (each peer's
    own, peers: the nodes' addresses) and port, as users write it."""
    items = []
    for rule in plan["rules"]:
        for family in rule["families"]:
            version = "ipv4" if family == "ipv4" else "ipv6"
            sources = [None] if not rule["from"] else per_peer(
                [cidr for name in rule["from"] for cidr in plan["sets"][name][family]], peers)
            destinations = [None] if not rule.get("to") else per_peer(
                [cidr for name in rule["to"] for cidr in plan["sets"][name][family]], peers)
            for source, destination in [(s, d) for s in sources for d in destinations]:
                for port in rule["ports"] or [None]:
                    for icmp_type in rule["icmp_types"] or [None]:
                        item = {"ip_version": version, "jump": JUMPS[rule["action"]]}
                        item.update(MATCHES.get(rule["match"], {}))
                        if rule["proto"] not in (None, "all"):
                            item["protocol"] = "ipv6-icmp" if rule["proto"] == "icmpv6" else rule["proto"]
                        if icmp_type is not None:
                            item["icmp_type"] = str(icmp_type)
                        if source is not None:
                            item["source"] = str(ipaddress.ip_network(source))
                        if destination is not None:
                            item["destination"] = str(ipaddress.ip_network(destination))
                        if port is not None:
                            item["destination_port"] = port.replace("-", ":")
                        items.append(item)
    return items


def module_runs(output):
    """Per host: modules that ran on it, counted from the run's own results - a result (or loop
    item) that carries an `invocation` is a module that ran on the node, and host_firewall's
    confirm (`confirmed` in its result) one more, over the new connection. Skipped tasks, controller
    actions (set_fact, debug, the roles' argument checks) and a host_firewall task that ran no
    module (the steady state: steady true) carry none."""
    counts = {}
    for play in output["plays"]:
        for task in play["tasks"]:
            for host, result in task["hosts"].items():
                items = result["results"] if isinstance(result.get("results"), list) else [result]
                ran = [item for item in items if "invocation" in item]
                counts[host] = counts.get(host, 0) + len(ran) + len([item for item in ran if "confirmed" in item])
    return counts


def tasks_per_host(output):
    """Per host: the tasks that ran or were skipped for it (its results, controller ones included)."""
    counts = {}
    for play in output["plays"]:
        for task in play["tasks"]:
            for host in task["hosts"]:
                counts[host] = counts.get(host, 0) + 1
    return counts


def rule_count(nodes, name, backend="iptables"):
    """Rules in the node's filter tables (IPv4 + IPv6) and entries in its ipsets; with nftables,
    the rules and set elements of our table."""
    if backend == "nftables":
        text = nodes.sh(name, "nft -j list table inet microseg 2>/dev/null || echo '{\"nftables\": []}'")
        objects = json.loads(text)["nftables"]
        rules = len([item for item in objects if "rule" in item])
        members = sum(len(item["set"].get("elem", [])) for item in objects if "set" in item)
        return rules, members
    text = nodes.sh(name, "iptables-save -t filter; ip6tables-save -t filter")
    rules = len([line for line in text.splitlines() if line.startswith("-A ")])
    members = nodes.sh(name, "ipset list 2>/dev/null | grep -c '^[0-9a-f:.]*[/0-9]*$' || true").strip()
    return rules, int(members or 0)


def add_baseline(inventory, plans_dir, variable="benchmark_rules", expand=baseline_rules):
    """Put each host's baseline (expand(the plan the collection makes for it)) in the inventory,
    as the host variable the baseline playbook loops over."""
    with open(inventory) as handle:
        data = json.load(handle)
    for name, host in data["all"]["hosts"].items():
        with open(os.path.join(plans_dir, name + ".json")) as handle:
            host[variable] = expand(json.load(handle))
    with open(inventory, "w") as handle:
        json.dump(data, handle)


def run_method(method, size, workdir, backend="iptables"):
    """Fresh nodes; the method's playbook twice -> ([(seconds, json output)] * 2, [(rules, set entries)]).
    backend: the collection's microseg_backend (the baseline is ansible.builtin.iptables)."""
    prefix = "msegbench-%s%d" % ("b" if method == "baseline" else backend[:3], size)
    with lab.Nodes(prefix, size) as nodes:
        inventory = lab.inventory(nodes, os.path.join(workdir, "%s-%s-%d.json" % (method, backend, size)),
                                  **dict(policy_vars(), microseg_backend=backend))
        playbook = "playbooks/site.yml"
        if method == "baseline":
            playbook = "benchmarks/baseline.yml"
            plans = os.path.join(workdir, "plans-%d" % size)
            lab.ansible_playbook("playbooks/plan.yml", inventory, "-e", "microseg_plan_dir=" + plans)
            peers = [nodes.address(name) for name in nodes.names]
            add_baseline(inventory, plans, expand=lambda plan: baseline_rules(plan, peers))
        runs = [lab.ansible_playbook(playbook, inventory) for _run in ("first", "second")]
        counts = [rule_count(nodes, name, backend if method != "baseline" else "iptables") for name in nodes.names]
    return runs, counts


def summary(runs, counts):
    (first, first_out), (second, second_out) = runs
    stats = second_out["stats"]
    return {
        "first": first, "second": second,
        "changed_second": sum(host["changed"] for host in stats.values()),
        "modules": max(module_runs(first_out).values()),
        "modules_second": max(module_runs(second_out).values()),
        "tasks_second": max(tasks_per_host(second_out).values()),
        "rules": max(rules for rules, _members in counts),
        "members": max(members for _rules, members in counts),
    }


ROW = "%-5s %-20s %9s %9s %10s %9s %9s %8s %6s %7s"


def print_row(size, name, row):
    print(ROW % (size, name, "%.1f" % row["first"], "%.1f" % row["second"], row["changed_second"], row["modules"],
                 row["modules_second"], row["tasks_second"], row["rules"], row["members"]), flush=True)


def print_ratio(size, name, ours, theirs, targets):
    ratios = (theirs["first"] / ours["first"], theirs["second"] / ours["second"])
    print("%-5s %-20s %8.1fx %8.1fx   (%s)" % ((size, name) + ratios + (targets,)), flush=True)


TARGETS = "targets, no change: >= 10x at 3 nodes, >= 20x at 10; 1 module run per node"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[3, 10, 20])
    parser.add_argument("--backends", nargs="+", default=["iptables", "nftables"], choices=["iptables", "nftables"])
    args = parser.parse_args()
    print("apply benchmark: the same whitelist (control plane + workers, node_ip scope, calico BGP + Typha)")
    print("modules = module runs per host (busiest host), counted from the results' invocations; tasks/2 = tasks")
    print("per host on the second run (skipped and controller ones included); rules = iptables rules per host")
    print("(IPv4 + IPv6) or nft rules in our table; set entries = addresses in the host's ipsets or nft sets")
    header = ROW % ("nodes", "method", "first s", "second s", "changed/2", "modules", "modules/2", "tasks/2", "rules",
                    "set ent")
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory(prefix="microseg-bench-") as workdir:
        for size in args.sizes:
            results = {}
            for backend in args.backends:
                results[backend] = summary(*run_method("collection", size, workdir, backend))
                print_row(size, "collection " + backend, results[backend])
            theirs = summary(*run_method("baseline", size, workdir))
            print_row(size, "baseline (iptables)", theirs)
            for backend in args.backends:
                print_ratio(size, "speed-up " + backend, results[backend], theirs, TARGETS)


if __name__ == "__main__":
    main()
