# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side planning benchmark: every node's plan for a fleet of N hosts.

The fleet (benchmarks/fleet.py) has addresses and group membership only, no connections. Two
ways, side by side:
- whitelist_plans: what the role runs, once per batch - the inventory read once, the cluster's
  address sets built once and shared by every plan (cluster_inventory + compile_plans);
- per host (the baseline, how the role used to plan): each node planned on its own with
  compile_plan, which reads the whole inventory again for every node. It is timed on a sample of
  nodes and multiplied out (marked ~): at 5,000 hosts the full run would take minutes.
Usage: python benchmarks/bench_planning.py [--sizes 10 100 1000 2000 5000]
"""

import argparse
import os
import sys
import time
import tracemalloc

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), ".collections"))

import fleet  # noqa: E402

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.inventory import build_inventory  # noqa: E402
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.plan import compile_plan, compile_plans  # noqa: E402

SAMPLE = 20
TARGET_SECONDS = 10.0


def plan_all(size):
    """Seconds to plan every node, as the role does; and the plans."""
    hostvars, groups, inputs = fleet.hostvars(size), fleet.groups(size), fleet.plan_inputs(size)
    start = time.perf_counter()
    plans = compile_plans(inputs, build_inventory(hostvars, groups))
    took = time.perf_counter() - start
    assert len(plans) == size and all("plan" in entry for entry in plans.values())
    return took, plans


def per_host(size):
    """Seconds to plan every node one by one (timed on a sample of nodes when the fleet is big)."""
    hostvars, groups, inputs = fleet.hostvars(size), fleet.groups(size), fleet.plan_inputs(size)
    sample = inputs if size <= SAMPLE else inputs[:: size // SAMPLE][:SAMPLE]
    start = time.perf_counter()
    for item in sample:
        compile_plan(item["node"], build_inventory(hostvars, groups), item["policy"])
    return (time.perf_counter() - start) * size / len(sample), len(sample) < size


def peak_mib(size):
    tracemalloc.start()
    plan_all(size)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2.0 ** 20


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000, 2000, 5000])
    args = parser.parse_args()
    print("planning every node of an N-host fleet on the controller (%s)" % fleet.__doc__.splitlines()[0])
    header = "%6s %16s %10s %14s %10s %12s" % ("hosts", "whitelist_plans", "ms/host", "per host", "speed-up", "peak MiB")
    print(header)
    print("-" * len(header))
    previous = None
    for size in sorted(args.sizes):
        took, plans = plan_all(size)
        baseline, estimated = per_host(size)
        growth = ""
        if previous:
            growth = "   x%.1f for x%.1f hosts" % (took / previous[1], size / float(previous[0]))
        print("%6d %15.2fs %10.2f %13s%s %9.0fx %12.1f%s" % (
            size, took, 1000 * took / size, "%.1fs" % baseline, "~" if estimated else " ", baseline / took,
            peak_mib(size), growth), flush=True)
        previous = (size, took)
        largest = (size, took, len(plans[fleet.host_name(0)]["plan"]["sets"]["cluster_nodes"]["ipv4"]))
    size, took, members = largest
    print("target: %d hosts in under %.0f s: %s (%.2f s; the control plane's cluster set has %d entries)"
          % (size, TARGET_SECONDS, "met" if took < TARGET_SECONDS else "NOT met", took, members))


if __name__ == "__main__":
    main()
