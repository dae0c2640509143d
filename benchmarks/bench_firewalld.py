# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""firewalld benchmark: the same whitelist on N lab nodes running firewalld, two ways, side by side.

(a) playbooks/site.yml with the firewalld backend (detect, plan, one firewalld reload and one
    nft transaction per node, commit-confirm included);
(b) benchmarks/baseline_firewalld.yml: one ansible.posix.firewalld rich rule per rule, peer
    address, port and family (as users do it today), the blacklist's drops included, and the ICMP
    types the plan admits as the zone's icmp-blocks (inverted), on fresh nodes;
each run a second time (nothing to change). Nodes: podman containers of the lab's systemd image
(lab/image.sh systemd: systemd, D-Bus, firewalld on its nftables backend), removed afterwards.
Usage: python benchmarks/bench_firewalld.py [--sizes 3 10 20]
"""

import argparse
import ipaddress
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench_apply  # noqa: E402
import lab  # noqa: E402

FAMILIES = {"ipv4": "ipv4", "ipv6": "ipv6"}
# firewalld's own names of the ICMP types a plan admits (firewall-cmd --get-icmptypes, firewalld
# 1.3). It has none for MLD (ICMPv6 130-132, 143): those cannot be written, and are left out.
ICMP_NAMES = {
    ("icmp", 3): "destination-unreachable", ("icmp", 11): "time-exceeded", ("icmp", 12): "parameter-problem",
    ("icmpv6", 1): "destination-unreachable", ("icmpv6", 2): "packet-too-big", ("icmpv6", 3): "time-exceeded",
    ("icmpv6", 4): "parameter-problem", ("icmpv6", 133): "router-solicitation",
    ("icmpv6", 134): "router-advertisement", ("icmpv6", 135): "neighbour-solicitation",
    ("icmpv6", 136): "neighbour-advertisement",
}


def baseline_icmp_blocks(plan):
    """A plan -> the ICMP types it admits, as firewalld names them: with icmp-block-inversion set,
    the zone's icmp-blocks are the only ICMP types it accepts (firewalld accepts every type by
    default). One ansible.posix.firewalld item each."""
    names = []
    for rule in plan["rules"]:
        if rule["action"] == "accept" and rule["proto"] in ("icmp", "icmpv6") and not rule.get("match"):
            names += [ICMP_NAMES[(rule["proto"], number)] for number in rule["icmp_types"]
                      if (rule["proto"], number) in ICMP_NAMES]
    return sorted(set(names))


def baseline_rich_rules(plan, peers=()):
    """A plan -> the rich rules a user writes for it: one per rule, family, source address (each
    peer's own, peers: the nodes' addresses), destination address, port (range) and protocol.
    Left to the zone, as a firewalld user leaves them: loopback, established and DNAT'd traffic
    and the DHCPv6 client (its public zone admits those), the drops for everyone else (the zone
    rejects what it does not admit), and the ICMP types (baseline_icmp_blocks). The drops with a
    source (the blacklist) are rich rules: firewalld runs them before the zone's accepts."""
    items = []
    for rule in plan["rules"]:
        if rule.get("match") or (rule["action"] != "accept" and not rule["from"]):
            continue
        if rule["proto"] in ("icmp", "icmpv6") and rule["icmp_types"]:
            continue
        for family in rule["families"]:
            sources = [None] if not rule["from"] else bench_apply.per_peer(
                [cidr for name in rule["from"] for cidr in plan["sets"][name][family]], peers)
            destinations = [None] if not rule.get("to") else bench_apply.per_peer(
                [cidr for name in rule["to"] for cidr in plan["sets"][name][family]], peers)
            for source in sources:
                for destination in destinations:
                    parts = ['rule family="%s"' % FAMILIES[family]]
                    if source:
                        parts.append('source address="%s"' % ipaddress.ip_network(source))
                    if destination:
                        parts.append('destination address="%s"' % ipaddress.ip_network(destination))
                    if rule["ports"]:
                        elements = ['port port="%s" protocol="%s"' % (port, rule["proto"]) for port in rule["ports"]]
                    elif rule["proto"] in ("icmp", "icmpv6"):
                        if (rule["proto"] == "icmp") != (family == "ipv4"):
                            continue
                        elements = ['protocol value="%s"' % ("icmp" if family == "ipv4" else "ipv6-icmp")]
                    elif rule["proto"] in (None, "all"):
                        elements = [""]
                    else:
                        elements = ['protocol value="%s"' % rule["proto"]]
                    items += [" ".join(parts + ([element] if element else []) + [rule["action"]])
                              for element in elements]
    return items


def run_method(method, size, workdir):
    """Fresh firewalld nodes; the method's playbook twice -> [(seconds, json output)] * 2, rich rules per host."""
    with lab.Nodes("msegfwd-%s%d" % (method[0], size), size, kind="systemd") as nodes:
        inventory = lab.inventory(nodes, os.path.join(workdir, "%s-%d.json" % (method, size)),
                                  **bench_apply.policy_vars())
        playbook = "playbooks/site.yml"
        if method == "baseline":
            playbook = "benchmarks/baseline_firewalld.yml"
            plans = os.path.join(workdir, "plans-fwd-%d" % size)
            lab.ansible_playbook("playbooks/plan.yml", inventory, "-e", "microseg_plan_dir=" + plans)
            peers = [nodes.address(name) for name in nodes.names]
            bench_apply.add_baseline(inventory, plans, "benchmark_rich_rules",
                                     lambda plan: baseline_rich_rules(plan, peers))
            bench_apply.add_baseline(inventory, plans, "benchmark_icmp_blocks", baseline_icmp_blocks)
        runs = [lab.ansible_playbook(playbook, inventory) for _run in ("first", "second")]
        rules = max(len([line for line in nodes.sh(name, "firewall-cmd --list-all-zones; firewall-cmd "
                                                         "--list-all-policies").splitlines()
                         if line.strip().startswith("rule ")]) for name in nodes.names)
    return runs, rules


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[3, 10, 20])
    args = parser.parse_args()
    print("firewalld benchmark: the same whitelist (control plane + workers, node_ip scope, calico BGP + Typha)")
    print("modules = module runs per host (busiest host), counted from the results' invocations; tasks/2 = tasks")
    print("per host on the second run; rich rules = firewalld rich rules per host")
    row_format = "%-5s %-12s %9s %9s %10s %9s %9s %8s %10s"
    header = row_format % ("nodes", "method", "first s", "second s", "changed/2", "modules", "modules/2", "tasks/2",
                           "rich rules")
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory(prefix="microseg-bench-") as workdir:
        for size in args.sizes:
            results = {}
            for method in ("collection", "baseline"):
                runs, rules = run_method(method, size, workdir)
                (first, first_out), (second, second_out) = runs
                results[method] = (first, second)
                print(row_format % (
                    size, method, "%.1f" % first, "%.1f" % second,
                    sum(host["changed"] for host in second_out["stats"].values()),
                    max(bench_apply.module_runs(first_out).values()), max(bench_apply.module_runs(second_out).values()),
                    max(bench_apply.tasks_per_host(second_out).values()), rules), flush=True)
            ours, theirs = results["collection"], results["baseline"]
            ratios = (theirs[0] / ours[0], theirs[1] / ours[1])
            print("%-5d %-12s %8.1fx %8.1fx   (%s)" % ((size, "speed-up") + ratios + (bench_apply.TARGETS,)), flush=True)


if __name__ == "__main__":
    main()
