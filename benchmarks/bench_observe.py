# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""observe.yml benchmark: its time on a lab fleet with a quiet observation window and with the
record sets full, and what the full sets take in kernel memory, per backend, side by side.

Each backend gets 3 fresh lab nodes (a control plane and two workers) with the whitelist in host
mode and state monitor. The baseline row is observe.yml over a window with a handful of flows;
then two workers scan the control plane (2 x 50,000 UDP ports, 100,000 tuples against the
bound of 65,536 records per set) and observe.yml runs again. Memory: ipset's own figure for its
sets (iptables); for nftables the growth of the kernel's slab memory (/proc/meminfo, host-wide,
so approximate: it includes the conntrack entries the scan makes) while the sets fill.
Usage: python benchmarks/bench_observe.py
"""

import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import lab  # noqa: E402

SCAN = """python3 - <<'EOF'
import socket
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for port in range(1, %d):
    sock.sendto(b"x", ("%s", port))
EOF"""


def slab_kib():
    with open("/proc/meminfo") as handle:
        return dict((line.split(":")[0], int(line.split()[1])) for line in handle)["Slab"]


def records(nodes, name, backend):
    if backend == "nftables":
        out = json.loads(nodes.sh(name, "nft -j list set inet microseg observed_v4"))
        return len(out["nftables"][1]["set"].get("elem", [])), None
    out = nodes.sh(name, "ipset list -t mseg-obs-first-v4; ipset list -t mseg-obs-last-v4")
    entries = int(out.split("Number of entries:")[1].split()[0])
    memory = sum(int(part.split()[0]) for part in out.split("Size in memory:")[1:])
    return entries, memory / 1024.0


def run(backend, workdir):
    rows = []
    with lab.Nodes("msegobs-%s" % backend[:3], 3) as nodes:
        inventory = lab.inventory(nodes, os.path.join(workdir, "%s.json" % backend), microseg_mode="host",
                                  microseg_state="monitor", microseg_backend=backend)
        lab.ansible_playbook("playbooks/site.yml", inventory)
        target = nodes.address(nodes.names[0])
        for port in (8080, 8081, 8082):
            nodes.sh(nodes.names[1], "nc -z -w 1 %s %d || true" % (target, port))
        took, _out = lab.ansible_playbook("playbooks/observe.yml", inventory, "-e",
                                          "microseg_observe_dir=%s" % os.path.join(workdir, backend + "-quiet"))
        count, memory = records(nodes, nodes.names[0], backend)
        rows.append((backend, "quiet window", count, took, memory))
        before = slab_kib()
        for worker in nodes.names[1:]:
            nodes.sh(worker, SCAN % (50001, target))
        count, memory = records(nodes, nodes.names[0], backend)
        if memory is None:
            memory = max(slab_kib() - before, 0)
        took, _out = lab.ansible_playbook("playbooks/observe.yml", inventory, "-e",
                                          "microseg_observe_dir=%s" % os.path.join(workdir, backend + "-full"))
        rows.append((backend, "after a 100k scan", count, took, memory))
    return rows


def main():
    print("observe.yml on 3 lab nodes (host mode, monitor); records = entries in the control plane's set (bound 65536)")
    header = "%-9s %-18s %9s %12s %14s" % ("backend", "window", "records", "observe s", "set memory KiB")
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory(prefix="microseg-bench-") as workdir:
        for backend in ("iptables", "nftables"):
            for row in run(backend, workdir):
                memory = "-" if row[4] is None else "%.1f%s" % (row[4], "" if backend == "iptables" else " (slab)")
                print("%-9s %-18s %9d %12.1f %14s" % (row[0], row[1], row[2], row[3], memory), flush=True)


if __name__ == "__main__":
    main()
