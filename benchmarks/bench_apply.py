# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Apply benchmark: the same whitelist on N lab nodes, three ways, side by side.

(a) playbooks/site.yml (detect, plan, apply: one restore transaction per node);
(b) benchmarks/baseline.yml: the same rules with one ansible.builtin.iptables task per rule,
    per source address, per port (as users do it today), on fresh nodes;
(c) each of them run a second time (nothing to change).
Each run gets fresh lab nodes (podman, lab/image.sh); they are removed afterwards.
Usage: python benchmarks/bench_apply.py [--sizes 3 10]
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

# Actions that run on the controller only: no module is sent to the node.
CONTROLLER_ONLY = {"set_fact", "debug", "assert", "fail", "include_role", "include_tasks", "import_role",
                   "import_tasks", "meta", "add_host", "group_by", "set_stats", "validate_argument_spec"}
JUMPS = {"accept": "ACCEPT", "drop": "DROP"}
MATCHES = {"loopback": {"in_interface": "lo"}, "established": {"ctstate": ["ESTABLISHED", "RELATED"]},
           "dnat": {"ctstate": ["DNAT"]}}


def policy_vars():
    variables = dict(("microseg_" + key, value) for key, value in fleet.POLICY.items())
    variables["microseg_features"] = fleet.FEATURES
    return variables


def baseline_rules(plan):
    """A plan -> one ansible.builtin.iptables item per rule, family, source address and port."""
    items = []
    for rule in plan["rules"]:
        for family in rule["families"]:
            version = "ipv4" if family == "ipv4" else "ipv6"
            sources = [None] if not rule["from"] else [
                cidr for name in rule["from"] for cidr in plan["sets"][name][family]]
            destinations = [None] if not rule.get("to") else [
                cidr for name in rule["to"] for cidr in plan["sets"][name][family]]
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
    """Per host: modules that ran for it (loop items counted one by one; skips not counted)."""
    counts = {}
    for play in output["plays"]:
        for task in play["tasks"]:
            for host, result in task["hosts"].items():
                if result.get("action", "").split(".")[-1] in CONTROLLER_ONLY:
                    continue
                if "results" in result:
                    ran = len([item for item in result["results"] if not item.get("skipped")])
                else:
                    ran = 0 if result.get("skipped") else 1
                counts[host] = counts.get(host, 0) + ran
    return counts


def rule_count(nodes, name):
    """Rules in the node's filter tables (IPv4 + IPv6) and entries in its ipsets."""
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


def run_method(method, size, workdir):
    """Fresh nodes; the method's playbook twice -> ([(seconds, json output)] * 2, [(rules, set entries)])."""
    with lab.Nodes("msegbench-%s%d" % (method[0], size), size) as nodes:
        inventory = lab.inventory(nodes, os.path.join(workdir, "%s-%d.json" % (method, size)), **policy_vars())
        playbook = "playbooks/site.yml"
        if method == "baseline":
            playbook = "benchmarks/baseline.yml"
            plans = os.path.join(workdir, "plans-%d" % size)
            lab.ansible_playbook("playbooks/plan.yml", inventory, "-e", "microseg_plan_dir=" + plans)
            add_baseline(inventory, plans)
        runs = [lab.ansible_playbook(playbook, inventory) for _run in ("first", "second")]
        counts = [rule_count(nodes, name) for name in nodes.names]
    return runs, counts


def summary(runs, counts):
    (first, first_out), (second, second_out) = runs
    stats = second_out["stats"]
    invocations = module_runs(first_out)
    return {
        "first": first, "second": second,
        "changed_second": sum(host["changed"] for host in stats.values()),
        "modules": max(invocations.values()),
        "modules_second": max(module_runs(second_out).values()),
        "rules": max(rules for rules, _members in counts),
        "members": max(members for _rules, members in counts),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[3, 10])
    args = parser.parse_args()
    print("apply benchmark: the same whitelist (control plane + workers, node_ip scope, calico BGP + Typha)")
    print("modules = module runs per host (busiest host); rules = iptables rules per host (IPv4 + IPv6);")
    print("set entries = addresses in the host's ipsets")
    header = "%-5s %-12s %9s %9s %10s %9s %9s %6s %7s" % (
        "nodes", "method", "first s", "second s", "changed/2", "modules", "modules/2", "rules", "set ent")
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory(prefix="microseg-bench-") as workdir:
        for size in args.sizes:
            results = {}
            for method in ("collection", "baseline"):
                results[method] = summary(*run_method(method, size, workdir))
                row = results[method]
                print("%-5d %-12s %9.1f %9.1f %10d %9d %9d %6d %7d" % (
                    size, method, row["first"], row["second"], row["changed_second"], row["modules"],
                    row["modules_second"], row["rules"], row["members"]), flush=True)
            ours, theirs = results["collection"], results["baseline"]
            print("%-5d %-12s %8.1fx %8.1fx   (targets: first >= 5x, second >= 10x, changed on the second run = 0)"
                  % (size, "speed-up", theirs["first"] / ours["first"], theirs["second"] / ours["second"]), flush=True)


if __name__ == "__main__":
    main()
