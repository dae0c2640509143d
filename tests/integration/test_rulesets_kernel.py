# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Property: every plan's rendered rulesets load into the kernel, on both backends, and what the
kernel lists back compares equal to what was rendered (so a second run changes nothing).

Each example runs in a throwaway network namespace (`unshare -n`): ipset restore, iptables- and
ip6tables-restore, nft -f, then iptables-save / ipset save / nft list read back. The machine's
own firewall is never touched. Plans are large and odd on purpose: many entries sharing a
protocol and a source (long rule comments), long and strange node names, numbered protocols,
ICMP without a source, sources of one family for a protocol of both.
"""
from __future__ import annotations

import subprocess

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.microseg.cluster_firewall.plugins.module_utils import catalog
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.iptables import render as iptables
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.nftables import render as nftables
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.iptables.host import parse_ruleset
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.protocols import (
    read_protocol_numbers as protocol_numbers,
)
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.errors import PlanError
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.plan import compile_plan

from conftest import require_lab

SEPARATOR = "=====microseg-test====="
LOAD = r"""
set -e
ipset restore < "$1/ipsets"
iptables-restore --noflush < "$1/ipv4"
ip6tables-restore --noflush < "$1/ipv6"
nft -f "$1/nft"
echo %(sep)s; iptables-save -t filter
echo %(sep)s; ip6tables-save -t filter
echo %(sep)s; ipset save
echo %(sep)s; nft list table inet microseg
""" % {"sep": SEPARATOR}

LONG_NAME = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=200)
ADDRESSES = ["192.0.2.11", "192.0.2.12", "192.0.2.21", "2001:db8::21", "203.0.113.5", "2001:db8::99"]
SOURCES = ["monitoring", "kube_node", "kube_control_plane", "10.0.0.0/8", "2001:db8:1::/48", "198.51.100.7",
           "0.0.0.0/0", "::/0", "v6host", "172.16.0.0/12"]
PORTLESS = ["icmp", "icmpv6", "esp", "ah", "gre", "ipip", "vrrp", "33", "136", "47", "4", "112"]

port = st.one_of(st.integers(1, 65535), st.tuples(st.integers(1, 65000), st.integers(0, 500)).map(
    lambda pair: "%d-%d" % (pair[0], pair[0] + pair[1])))
sources = st.lists(st.sampled_from(SOURCES), min_size=1, max_size=3)
entry = st.one_of(
    st.fixed_dictionaries({"port": st.one_of(port, st.lists(port, min_size=1, max_size=20)), "from": sources},
                          optional={"proto": st.sampled_from(["tcp", "udp", "sctp", "132"]),
                                    "comment": st.text(max_size=40)}),
    st.fixed_dictionaries({"proto": st.sampled_from(PORTLESS), "from": sources}),
    st.fixed_dictionaries({"proto": st.sampled_from(PORTLESS)}),          # from anywhere
)
# many entries sharing a protocol and a source: their ids make long comments
shared = st.integers(6, 40).map(lambda count: [{"port": 9100 + index, "from": ["monitoring"]} for index in range(count)])
policy = st.fixed_dictionaries({
    "state": st.sampled_from(["monitor", "alert", "block"]),
    "mode": st.sampled_from(["host", "service"]),
    "scope": st.sampled_from(["node_ip", "cidr", "port"]),
    "trusted_cidrs": st.just(["192.0.2.0/24", "2001:db8::/32"]),
    "whitelist": st.tuples(shared, st.lists(entry, max_size=25)).map(lambda pair: pair[0] + pair[1]),
    "blacklist": st.lists(entry, max_size=8),
    "blacklist_state": st.sampled_from(["monitor", "alert", "block"]),
    "nodeport": st.booleans(),
    "trust_pod_network": st.booleans(),
    "allow_missing_peers": st.just(True),
}, optional={"management_cidrs": st.lists(st.sampled_from(["198.51.100.0/24", "2001:db8:ff::/48", "0.0.0.0/0"]),
                                          max_size=2),
             "apiserver_from": st.lists(st.sampled_from(SOURCES), max_size=2)})
features = st.lists(st.sampled_from(sorted(catalog.FEATURES)), max_size=6)
# The node's networks: the rows to the Service network and NodeLocal DNSCache match destination
# sets (NodeLocal DNSCache in IPv4 only: its IPv6 rules admit nothing and are left out).
NETWORKS = {"pod_cidrs": ["10.233.64.0/18", "fd00:64::/56"], "service_cidrs": ["10.233.0.0/18", "fd00:233::/112"],
            "nodelocal_dns": ["169.254.25.10"]}


def inventory(name):
    hosts = {name: ["192.0.2.11", "2001:db8::11"], "cp2": ["192.0.2.12"], "w1": ["192.0.2.21", "2001:db8::21"],
             "mon": ["203.0.113.5"], "v6host": ["2001:db8::99"]}
    return {"hosts": dict((host, {"addresses": addresses}) for host, addresses in hosts.items()),
            "groups": {"kube_control_plane": [name, "cp2"], "kube_node": ["w1", "v6host"], "monitoring": ["mon"]}}


def load_and_read(tmp_path, plan):
    files = {"ipsets": iptables.ipsets_file(plan), "ipv4": iptables.ruleset_file(plan, "ipv4"),
             "ipv6": iptables.ruleset_file(plan, "ipv6"), "nft": nftables.ruleset_file(plan)}
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    proc = subprocess.run(["unshare", "-n", "sh", "-c", LOAD, "load", str(tmp_path)], capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, "the kernel refused the rendered rulesets:\n%s\n%s" % (
        proc.stderr, "\n".join("--- %s\n%s" % item for item in files.items())[:20000])
    return proc.stdout.split(SEPARATOR + "\n")[1:]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(name=LONG_NAME, policy=policy, features=features)
def test_every_plan_loads_into_the_kernel_and_reads_back_as_rendered(tmp_path, name, policy, features):
    require_lab()
    try:
        plan = compile_plan(dict(NETWORKS, name=name, features=features, controller_address="198.51.100.250"),
                            inventory(name), policy)
    except PlanError as error:
        # the only refusal these policies can meet: a one-family protocol from the other family only
        assert "exists in ipv" in str(error), str(error)
        return
    if plan["passthrough"]:
        return
    ipv4, ipv6, ipsets, nft = load_and_read(tmp_path, plan)
    numbers = protocol_numbers()
    for family, saved in (("ipv4", ipv4), ("ipv6", ipv6)):
        live = iptables.parse_save(saved, numbers)
        assert live["rules"] == parse_ruleset(iptables.ruleset_file(plan, family), family)
        assert live["rules"] == iptables.render_rules(plan, family)
    live_sets = iptables.parse_ipset_save(ipsets)
    for family in ("ipv4", "ipv6"):
        for set_name, members in iptables.render_sets(plan, family).items():
            assert live_sets[set_name]["members"] == sorted(members)
    desired = nftables.table_body(nftables.ruleset_file(plan))
    assert nftables.normalise(nft, numbers) == nftables.normalise(desired, numbers)


def test_rules_to_destination_sets_read_back_as_rendered(tmp_path):
    """kube-proxy IPVS Services and NodeLocal DNSCache: source and destination set matches in one
    rule, in both backends."""
    require_lab()
    plan = compile_plan(dict(NETWORKS, name="w1", features=["kube_proxy_ipvs", "nodelocal_dns"]), inventory("w1"),
                        {"mode": "host", "trust_pod_network": True})
    ipv4, ipv6, _ipsets, nft = load_and_read(tmp_path, plan)
    numbers = protocol_numbers()
    assert "-m set --match-set mseg-service_network-v4 dst" in ipv4
    assert "-m set --match-set mseg-service_network-v6 dst" in ipv6
    assert "nodelocal_dns-v6 dst" not in ipv6
    for family, saved in (("ipv4", ipv4), ("ipv6", ipv6)):
        assert iptables.parse_save(saved, numbers)["rules"] == iptables.render_rules(plan, family)
    assert "ip daddr @nodelocal_dns_v4" in nft
    assert nftables.normalise(nft, numbers) == nftables.normalise(nftables.table_body(nftables.ruleset_file(plan)),
                                                                  numbers)


def test_vrrp_between_k0s_controllers_reads_back_as_rendered(tmp_path):
    """IP protocol 112 (keepalived's VRRP): a number for iptables, a name nft may print."""
    require_lab()
    plan = compile_plan({"name": "cp1", "features": ["k0s_controller", "k0s_cplb"]}, inventory("cp1"), {"mode": "host"})
    ipv4, _ipv6, _ipsets, nft = load_and_read(tmp_path, plan)
    numbers = protocol_numbers()
    assert "-p vrrp" in ipv4 or "-p 112" in ipv4
    assert iptables.parse_save(ipv4, numbers)["rules"] == iptables.render_rules(plan, "ipv4")
    assert nftables.normalise(nft, numbers) == nftables.normalise(nftables.table_body(nftables.ruleset_file(plan)),
                                                                  numbers)


def test_a_policy_the_review_found_nft_refusing_now_loads(tmp_path):
    """Six entries sharing proto and 'from' made a rule comment of 130 characters (nft allows 128),
    and a node name of ~100 characters did the same to the table comment."""
    require_lab()
    name = "node-" + "x" * 120
    policy = {"mode": "host", "whitelist": [{"port": port, "from": ["monitoring"]} for port in range(9100, 9106)]}
    plan = compile_plan({"name": name}, inventory(name), policy)
    _ipv4, _ipv6, _ipsets, nft = load_and_read(tmp_path, plan)
    assert "microseg_whitelist[0]" in nft


def test_a_blacklist_larger_than_ipsets_default_loads(tmp_path):
    require_lab()
    blacklist = ["10.%d.%d.%d" % (i >> 16, (i >> 8) & 255, i & 255) for i in range(0, 140000, 2)]
    plan = compile_plan({"name": "cp1"}, inventory("cp1"), {"mode": "host", "blacklist": [{"from": blacklist}]})
    _ipv4, _ipv6, ipsets, _nft = load_and_read(tmp_path, plan)
    sizes = [len(content["members"]) for content in iptables.parse_ipset_save(ipsets).values()]
    assert 70000 in sizes


def test_portless_protocols_from_anywhere_read_back_as_rendered(tmp_path):
    """nft prints `meta nfproto ipv4 meta l4proto icmp` as `meta l4proto icmp`, and protocols 33
    and 136 as dccp and udplite: each once made every run a change (a reload and a confirm)."""
    require_lab()
    policy = {"mode": "host", "whitelist": [{"proto": proto} for proto in ("icmp", "icmpv6", "33", "136", "ipip")]}
    plan = compile_plan({"name": "cp1"}, inventory("cp1"), policy)
    _ipv4, _ipv6, _ipsets, nft = load_and_read(tmp_path, plan)
    numbers = protocol_numbers()
    assert nftables.normalise(nft, numbers) == nftables.normalise(nftables.table_body(nftables.ruleset_file(plan)),
                                                                  numbers)
