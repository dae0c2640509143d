# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Remove gives back the node's ruleset exactly as it was before the first apply (iptables-nft):
tables and base chains that exist only because our apply needed them go when we go.

On a node with no ip6tables rules, applying creates `table ip6 filter` for our IPv6 chain; on a
host whose firewall lives in nftables tables of its own (Docker's nftables backend, firewalld),
it creates both `ip filter` and `ip6 filter`. Each case compares the whole `nft list ruleset`
(counters zeroed) before the apply and after the remove."""
from __future__ import annotations

import json
import re

import pytest
from test_host_firewall_lab import FOREIGN_V4, address

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.iptables import render as iptables
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.plan import compile_plan

DOCKER_NFT = """table ip docker-bridges {
\tchain filter-FORWARD {
\t\ttype filter hook forward priority filter; policy accept;
\t\tiifname "docker0" oifname != "docker0" accept
\t}
}
"""
SETUPS = {
    "ipv4 rules, no ipv6 rules": "iptables-nft-restore < /tmp/foreign4",
    "no iptables rules at all": "true",
    "only a Docker nftables table": "nft -f /tmp/docker.nft",
}


def ruleset(node):
    text = node.sh("nft list ruleset").stdout
    return re.sub(r"counter packets \d+ bytes \d+", "counter", text)


@pytest.mark.parametrize("setup", sorted(SETUPS))
def test_remove_leaves_the_ruleset_as_it_was_before_the_apply(lab_nodes, setup):
    node = lab_nodes("restore-%d" % sorted(SETUPS).index(setup))
    node.write("/tmp/foreign4", FOREIGN_V4)
    node.write("/tmp/docker.nft", DOCKER_NFT)
    node.sh(SETUPS[setup])
    before = ruleset(node)
    plan = compile_plan({"name": node.name, "features": ["flannel_vxlan"]},
                        {"hosts": {node.name: {"addresses": [address(node)]}},
                         "groups": {"kube_control_plane": [node.name]}}, {"mode": "host"})
    args = {"variant": "nf_tables", "ruleset": {"ipv4.rules": iptables.ruleset_file(plan, "ipv4"),
                                                "ipv6.rules": iptables.ruleset_file(plan, "ipv6"),
                                                "ipsets": iptables.ipsets_file(plan)}}
    rc, applied = node.run_module("host_firewall", json.dumps(args))
    assert rc == 0 and applied["changed"], applied
    assert "table ip6 filter" in ruleset(node)            # made by our apply, for our IPv6 chain

    rc, checked = node.run_module("host_firewall", json.dumps({"variant": "nf_tables", "state": "absent"}), check=True)
    assert rc == 0 and any("remove table ip6 filter" in action for action in checked["actions"]), checked
    rc, removed = node.run_module("host_firewall", json.dumps({"variant": "nf_tables", "state": "absent"}))
    assert rc == 0 and removed["changed"], removed
    assert ruleset(node) == before
    # a second remove has nothing left to do
    rc, again = node.run_module("host_firewall", json.dumps({"variant": "nf_tables", "state": "absent"}))
    assert rc == 0 and not again["changed"], again


def test_a_table_someone_else_uses_stays(lab_nodes):
    """Our jump and chain go; a filter table that also holds another's rule stays, that rule too."""
    node = lab_nodes("restore-kept")
    plan = compile_plan({"name": node.name}, {"hosts": {node.name: {"addresses": [address(node)]}}, "groups": {}},
                        {"mode": "host", "whitelist": [{"port": 8080}]})
    args = {"variant": "nf_tables", "ruleset": {"ipv4.rules": iptables.ruleset_file(plan, "ipv4"),
                                                "ipv6.rules": iptables.ruleset_file(plan, "ipv6"),
                                                "ipsets": iptables.ipsets_file(plan)}}
    rc, applied = node.run_module("host_firewall", json.dumps(args))
    assert rc == 0, applied
    node.sh("ip6tables-nft -A INPUT -p tcp --dport 7000 -j DROP")          # someone else's, after ours
    rc, removed = node.run_module("host_firewall", json.dumps({"variant": "nf_tables", "state": "absent"}))
    assert rc == 0, removed
    assert not any("remove table ip6 filter" in action for action in removed["actions"])
    saved = node.sh("ip6tables-nft-save -t filter").stdout
    assert "-A INPUT -p tcp -m tcp --dport 7000 -j DROP" in saved and "MICROSEG" not in saved
