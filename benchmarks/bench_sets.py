# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Set scaling benchmark: one control-plane node's ruleset as the cluster grows.

For 10 .. 5,000 peer nodes, the control plane's plan (benchmarks/fleet.py) is rendered and
applied to one lab node with the collection's module, for each backend. The peers are set
entries only (synthetic 10.64.0.0/10 addresses): no traffic is sent. Reported: the rules in our
chain/table (flat: peers go into sets), the set entries, the rules one-rule-per-peer would need
(as benchmarks/baseline.yml writes them), the module run with a change and without, and the
kernel transaction alone, timed on the node.
Usage: python benchmarks/bench_sets.py [--peers 10 100 1000 5000]
"""

import argparse
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".collections"))

import bench_apply  # noqa: E402
import fleet  # noqa: E402
import lab  # noqa: E402

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.iptables import render as iptables  # noqa: E402
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.nftables import render as nftables  # noqa: E402
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.inventory import build_inventory  # noqa: E402
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.plan import compile_plans  # noqa: E402

NODE = "msegbench-sets"


def control_plane_plan(peers):
    plans = compile_plans(fleet.plan_inputs(peers)[:1], build_inventory(fleet.hostvars(peers), fleet.groups(peers)))
    return plans[fleet.host_name(0)]["plan"]


def write_files(plan, directory):
    files = {"ipv4.rules": iptables.ruleset_file(plan, "ipv4"), "ipv6.rules": iptables.ruleset_file(plan, "ipv6"),
             "ipsets": iptables.ipsets_file(plan), "microseg.nft": nftables.ruleset_file(plan)}
    for name, text in files.items():
        with open(os.path.join(directory, name), "w") as handle:
            handle.write(text)
    return files


def kernel_seconds(nodes, name, backend, files):
    """The kernel step alone, timed on the node: nft -f of the table; or ipset restore of the sets
    (under scratch names, then destroyed) and iptables-restore --noflush of our chain."""
    if backend == "nftables":
        nodes.sh(name, "cat > /tmp/bench.nft", stdin=files["microseg.nft"])
        script = "nft -f /tmp/bench.nft"
    else:
        scratch = files["ipsets"].replace(" mseg-", " msegbench-")
        nodes.sh(name, "cat > /tmp/bench.ipsets", stdin=scratch)
        nodes.sh(name, "cat > /tmp/bench.rules", stdin=files["ipv4.rules"])
        script = "ipset restore < /tmp/bench.ipsets && iptables-restore --noflush < /tmp/bench.rules"
    out = nodes.sh(name, "start=$(date +%%s%%N); %s; echo $(( $(date +%%s%%N) - start ))" % script)
    if backend == "iptables":
        nodes.sh(name, "ipset list -n | grep '^msegbench-' | xargs -r -n1 ipset destroy")
    return int(out.split()[-1]) / 1e9


def counts(nodes, name, backend):
    """(rules of ours, set entries of ours) on the node."""
    if backend == "nftables":
        objects = json.loads(nodes.sh(name, "nft --json list table inet microseg"))["nftables"]
        rules = len([item for item in objects if "rule" in item])
        elements = sum(len(item["set"].get("elem", [])) for item in objects if "set" in item)
        return rules, elements
    text = nodes.sh(name, "iptables-save -t filter; ip6tables-save -t filter")
    rules = len([line for line in text.splitlines() if line.startswith("-A MICROSEG-INPUT")])
    members = len([line for line in nodes.sh(name, "ipset save").splitlines() if line.startswith("add mseg-")])
    return rules, members


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peers", type=int, nargs="+", default=[10, 100, 1000, 5000])
    args = parser.parse_args()
    print("set scaling: one control plane's ruleset as the cluster grows (applied with host_firewall)")
    header = "%-9s %6s %6s %9s %12s %11s %12s %9s" % (
        "backend", "peers", "rules", "set ent", "1 rule/peer", "apply s", "no-change s", "kernel s")
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory(prefix="microseg-bench-") as workdir:
        for backend in ("iptables", "nftables"):
            with lab.Nodes(NODE + "-" + backend[:3], 1) as nodes:
                name = nodes.names[0]
                inventory = lab.inventory(nodes, os.path.join(workdir, "sets.json"))
                for peers in args.peers:
                    plan = control_plane_plan(peers)
                    files = write_files(plan, workdir)
                    extra = ("-e", "bench_backend=%s" % backend, "-e", "bench_dir=%s" % workdir)
                    apply_s, _out = lab.ansible_playbook("benchmarks/apply_ruleset.yml", inventory, *extra)
                    again_s, out = lab.ansible_playbook("benchmarks/apply_ruleset.yml", inventory, *extra)
                    assert sum(host["changed"] for host in out["stats"].values()) == 0, "the second apply changed something"
                    rules, members = counts(nodes, name, backend)
                    kernel = kernel_seconds(nodes, name, backend, files)
                    print("%-9s %6d %6d %9d %12d %11.2f %12.2f %9.3f" % (
                        backend, peers, rules, members, len(bench_apply.baseline_rules(plan)), apply_s, again_s, kernel),
                        flush=True)


if __name__ == "__main__":
    main()
