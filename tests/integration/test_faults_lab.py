# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""host_firewall under the faults a real node shows, on both iptables variants: kube-proxy and
Calico re-syncing their rules while we apply, kube-proxy restoring its chains after us, a restore
killed half-way (SIGKILL), two runs at once."""
from __future__ import annotations

import json
import random

import pytest
from test_host_firewall_lab import KUBE_FIREWALL_DROP, KUBE_JUMP, preloaded_target, reachable

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.iptables import render as iptables

# kube-proxy's and Calico's periodic re-sync, as they do it: delete their jumps, recreate their
# chains, insert the jumps at the top again - every 20 ms, in the background.
RESYNC = r"""
while :; do
  {tool} -D INPUT {kube_jump} 2>/dev/null
  {tool} -D INPUT -m comment --comment "cali:Cz_u1IQiXIMmKD4c" -j cali-INPUT 2>/dev/null
  {tool} -F KUBE-NODEPORTS; {tool} -X KUBE-NODEPORTS 2>/dev/null; {tool} -N KUBE-NODEPORTS 2>/dev/null
  {tool} -F cali-INPUT; {tool} -A cali-INPUT -m comment --comment "cali:msRIDfJRWnYwzW4g" -m mark --mark 0x10000/0x10000 -j ACCEPT
  {tool} -I INPUT 1 {kube_jump}
  {tool} -I INPUT 1 -m comment --comment "cali:Cz_u1IQiXIMmKD4c" -j cali-INPUT
  sleep 0.02
done
"""


@pytest.fixture(scope="module", params=["nf_tables", "legacy"])
def target(request, lab_nodes):
    return preloaded_target(lab_nodes, request.param, "faults-", (6443, 9999))


def ours(target, family="ipv4"):
    return [line for line in target.save(family).splitlines() if "MICROSEG" in line]


def test_neighbours_resyncing_during_our_runs(target):
    """Their jumps come and go at the top while we apply: we end after them, once, with our rules
    complete; their rules are intact; nothing is duplicated."""
    plans = [target.plan({"mode": "host", "state": "block", "whitelist": [{"port": port}]}) for port in (8080, 8081, 8082)]
    script = RESYNC.format(tool=target.tool("ipv4"), kube_jump=KUBE_JUMP)
    target.node.write("/tmp/resync.sh", script)
    target.node.sh("setsid bash /tmp/resync.sh >/dev/null 2>&1 < /dev/null &")
    try:
        for plan in plans:
            target.apply(plan)
    finally:
        target.node.sh("pkill -f '^bash /tmp/resync'")
    # the loop was killed anywhere in a pass: one complete pass more, as kube-proxy's next sync does
    target.node.sh("sed -e 's/^while :; do$//' -e 's/^done$//' -e 's/^  sleep 0.02$//' /tmp/resync.sh > /tmp/one-pass.sh"
                   " && bash /tmp/one-pass.sh")
    live = target.save().splitlines()
    input_rules = [line for line in live if line.startswith("-A INPUT")]
    assert input_rules.count("-A INPUT " + KUBE_JUMP) == 1
    assert sum("MICROSEG-INPUT" in line for line in input_rules) == 1
    ours_at = next(i for i, line in enumerate(input_rules) if "MICROSEG-INPUT" in line)
    assert all(i < ours_at for i, line in enumerate(input_rules) if "KUBE-" in line or "cali-" in line)
    assert any("6443,8082" in line for line in ours(target))        # the last plan, complete
    assert target.apply(plans[-1])["changed"] is False         # and it is complete: nothing left to do
    assert not reachable(target.peer, target.ip, 9999)


def test_a_kube_proxy_restore_of_its_chains_keeps_ours(target):
    """kube-proxy writes its chains with iptables-restore --noflush; that must not touch ours."""
    target.apply(target.plan({"mode": "host", "state": "block"}))
    mine = ours(target)
    target.node.write("/tmp/kube-restore", "*filter\n:KUBE-NODEPORTS - [0:0]\n:KUBE-FIREWALL - [0:0]\n"
                                           "%s\nCOMMIT\n" % KUBE_FIREWALL_DROP)
    target.node.sh("%s --noflush < /tmp/kube-restore" % target.tool("ipv4", "restore"))
    assert ours(target) == mine
    assert target.apply(target.plan({"mode": "host", "state": "block"}))["changed"] is False


def test_a_restore_killed_half_way_leaves_the_old_or_the_new_chain(target):
    """SIGKILL at random moments of the restore transaction the module runs: the chain is the old
    one or the new one, never a mix; the next run repairs whatever is left."""
    small = target.plan({"mode": "host", "state": "block"})
    target.apply(small)
    old = ours(target)
    # a big new chain (one rule per port: plans merge ports, so it is written here), so that the
    # restore takes long enough (tens of ms) to be killed in the middle; the same transaction the
    # module runs: our chain declared (flushed) and filled, our jump moved, in one restore
    big_rules = ["-p tcp -m tcp --dport %d -j ACCEPT" % port for port in range(20000, 26000, 2)]
    live = iptables.parse_save(target.node.sh("%s -t filter" % target.tool("ipv4", "save")).stdout)
    target.node.write("/tmp/big.restore", iptables.restore_script(big_rules, live))
    # how long the whole restore takes here, so that the kills land inside it
    took = float(target.node.sh("start=$(date +%%s%%N); %s --noflush < /tmp/big.restore; echo $(( $(date +%%s%%N) - start ))"
                                % target.tool("ipv4", "restore")).stdout.split()[-1]) / 1e9
    target.apply(small)
    seen = set()
    rng = random.Random(4)
    for _attempt in range(12):
        delay = rng.uniform(0.0, took)
        target.node.sh("%s --noflush < /tmp/big.restore & pid=$!; sleep %.3f; kill -9 $pid 2>/dev/null; wait $pid; true"
                       % (target.tool("ipv4", "restore"), delay))
        now = ours(target)
        chain = [line for line in now if line.startswith("-A MICROSEG-INPUT")]
        jumps = [line for line in now if line.startswith("-A INPUT")]
        if now == old:
            seen.add("old")
        else:
            assert len(chain) == len(big_rules) and len(jumps) == 1, "a mix after SIGKILL: %d of %d rules, %d jumps" % (
                len(chain), len(big_rules), len(jumps))
            seen.add("new")
        target.apply(small)                                   # the next run repairs
        assert ours(target) == old
    assert "old" in seen, took   # some kills landed before the transaction committed


def test_two_runs_at_once_are_serialised_with_a_clear_message(target):
    # the other run holds the lock until the test ends it: no race with the module's start on a busy machine
    target.node.sh("setsid flock /run/microseg.lock sleep 600 >/dev/null 2>&1 < /dev/null & "
                   "for _ in $(seq 100); do flock -n /run/microseg.lock true || exit 0; sleep 0.1; done; exit 1")
    try:
        args = {"variant": target.variant, "lock_timeout": 2, "ruleset": {}}
        rc, result = target.node.run_module("host_firewall", json.dumps(args))
        assert rc != 0
        assert "another microseg run holds /run/microseg.lock (waited 2s)" in result["msg"]
    finally:
        target.node.sh("pkill -f 'flock /run/microseg[.]lock sleep 600'; pkill -f '^sleep 600$'; true")
