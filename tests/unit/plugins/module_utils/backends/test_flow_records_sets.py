# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The flow records, pure part: where each backend records, and how the listings read back
(the listings below were printed by nft 1.0.6 and ipset 7.17 on the lab kernel)."""
from __future__ import annotations

import json

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends import observe
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.iptables import render as iptables
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.nftables import render as nftables
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.plan import compile_plan

INVENTORY = {"hosts": {"cp1": {"addresses": ["10.89.0.11"]}, "w1": {"addresses": ["10.89.0.21"]},
                       "other": {"addresses": ["10.89.0.30"]}},
             "groups": {"kube_control_plane": ["cp1"], "kube_node": ["w1"]}}
NOW = 1795750000


def plan(policy, name="cp1"):
    return compile_plan({"name": name, "features": []}, INVENTORY, policy)


def test_host_mode_records_before_the_default_in_both_backends():
    host = plan({"mode": "host", "state": "block"})
    rules = nftables.render_rules(host)
    assert rules[-3:] == ["meta nfproto ipv4 jump observe_v4", "meta nfproto ipv6 jump observe_v6",
                          'counter drop comment "microseg: block everything else"']
    table = nftables.render_table(host)
    for name in ("observed_v4", "first_seen_v4", "observed_v6", "first_seen_v6"):
        assert "set %s {" % name in table
    assert "size 65536" in table and "timeout 1d" in table
    ipv4 = iptables.render_rules(host, "ipv4")
    assert ipv4[-4:-1] == observe.iptables_rules("", "ipv4")
    assert ipv4[-1].endswith("-j DROP")
    assert "create mseg-obs-first-v4 hash:ip,port family inet hashsize 8192 maxelem 65536 timeout 86400 counters" \
        in iptables.ipsets_file(host)


def test_service_mode_records_before_each_guard_only():
    service = plan({"mode": "service", "state": "monitor", "whitelist": [{"port": 8080, "from": ["10.0.0.0/8"]}]})
    rules = nftables.render_rules(service)
    guard = [index for index, rule in enumerate(rules) if "service_mode_guard" in rule]
    assert guard and all(rules[index - 1].endswith("jump observe_v6") for index in guard[:1])
    assert "tcp dport { 2379-2380, 6443, 8080, 10250, 10257, 10259, 30000-32767 } meta nfproto ipv4 jump observe_v4" in rules
    assert not any(rule.startswith("meta nfproto ipv4 jump") for rule in rules)       # no default verdict
    ipv4 = iptables.render_rules(service, "ipv4")
    assert "-p udp -m udp --dport 30000:32767 -m set --match-set mseg-obs-first-v4 src,dst -m comment " \
           "--comment \"microseg: observe\"" in ipv4


def test_passthrough_and_service_without_guards_record_nothing():
    assert not observe.records(plan({"mode": "service"}, name="other"))           # no role, no list: passthrough
    blacklist_only = plan({"mode": "service", "blacklist": [{"from": ["10.9.9.9"]}]}, name="other")
    assert not blacklist_only["passthrough"] and "observe" not in nftables.render_table(blacklist_only)


NFT_OBSERVED = json.dumps({"nftables": [{"metainfo": {"version": "1.0.6"}}, {"set": {
    "family": "inet", "name": "observed_v4", "table": "microseg", "type": ["ipv4_addr", "inet_proto", "inet_service"],
    "elem": [{"elem": {"val": {"concat": ["10.89.1.6", "tcp", 8080]}, "expires": 86000, "counter": {"packets": 3, "bytes": 180}}},
             {"elem": {"val": {"concat": ["10.89.1.6", "icmp", 2048]}, "expires": 86390, "counter": {"packets": 1, "bytes": 84}}},
             {"elem": {"val": {"concat": ["10.89.1.7", "gre", 0]}, "expires": 86399, "counter": {"packets": 2, "bytes": 200}}}]}}]})
NFT_FIRST = json.dumps({"nftables": [{"set": {"name": "first_seen_v4", "elem": [
    {"elem": {"val": {"concat": ["10.89.1.6", "tcp", 8080]}, "expires": 85000}}]}}]})


def test_nft_records_read_counts_ports_icmp_and_times():
    records = observe.nft_records({"ipv4": (NFT_OBSERVED, NFT_FIRST)}, NOW)
    tcp, icmp, gre = records
    assert tcp == {"family": "ipv4", "source": "10.89.1.6", "proto": "tcp", "port": 8080, "icmp_type": None,
                   "icmp_code": None, "packets": 3, "bytes": 180, "first_seen": NOW - 1400, "last_seen": NOW - 400}
    assert (icmp["proto"], icmp["icmp_type"], icmp["icmp_code"], icmp["port"]) == ("icmp", 8, 0, None)
    assert icmp["first_seen"] == icmp["last_seen"] == NOW - 10       # its first entry is gone: last seen stands in
    assert (gre["proto"], gre["port"]) == ("gre", None)


IPSET_SAVE = """create mseg-obs-first-v4 hash:ip,port family inet hashsize 1024 maxelem 65536 timeout 86400 counters bucketsize 12
add mseg-obs-first-v4 10.89.1.6,tcp:8080 timeout 85000 packets 3 bytes 180
add mseg-obs-first-v4 10.89.1.6,icmp:echo-request timeout 86000 packets 1 bytes 84
add mseg-obs-first-v4 10.89.1.7,udp:5353 timeout 86300 packets 1 bytes 31
create mseg-obs-last-v4 hash:ip,port family inet hashsize 1024 maxelem 65536 timeout 86400 bucketsize 12
add mseg-obs-last-v4 10.89.1.6,tcp:8080 timeout 86000
add mseg-obs-last-v4 10.89.1.6,icmp:echo-request timeout 86000
add mseg-obs-last-v4 10.89.1.9,tcp:22 timeout 86000
"""


def test_ipset_records_join_the_counting_and_the_last_seen_sets():
    records = observe.ipset_records(IPSET_SAVE, NOW)
    assert [(record["source"], record["proto"], record["port"], record["icmp_type"]) for record in records] == [
        ("10.89.1.6", "icmp", None, 8), ("10.89.1.6", "tcp", 8080, None), ("10.89.1.7", "udp", 5353, None)]
    tcp = records[1]
    assert (tcp["packets"], tcp["first_seen"], tcp["last_seen"]) == (3, NOW - 1400, NOW - 400)
    assert records[2]["last_seen"] == records[2]["first_seen"]


def test_nft_listing_compares_without_the_records_but_with_the_peer_sets():
    listing = """table inet microseg {
\tset control_plane_v4 {
\t\ttype ipv4_addr
\t\tflags interval
\t\telements = { 10.89.0.11 }
\t}
\tset observed_v4 {
\t\ttype ipv4_addr . inet_proto . inet_service
\t\tsize 65536
\t\tflags dynamic,timeout
\t\tcounter
\t\ttimeout 1d
\t\telements = { 10.89.1.6 . tcp . 8080 counter packets 1 bytes 60 expires 23h59m,
\t\t\t     10.89.1.7 . udp . 53 counter packets 1 bytes 60 expires 23h59m }
\t}
\tchain observe_v4 {
\t\tupdate @observed_v4 { ip saddr . meta l4proto . th sport } add @first_seen_v4 { ip saddr . meta l4proto . th sport }
\t}
}"""
    stripped = observe.nft_strip_records(listing)
    assert "10.89.1.6 . tcp" not in stripped and "elements = { 10.89.0.11 }" in stripped
    ours = [line for line in observe.nft_definitions() if "th sport" in line and "_v4" in line][0]
    assert observe.nft_strip_records(ours).strip() == stripped.splitlines()[-3].strip()
    trixie = "\t\tupdate @observed_v4 { ip saddr . meta l4proto . @th,0,16 } add @first_seen_v4 " \
             "{ ip saddr . meta l4proto . th sport }"                # nft 1.1.3 (Debian 13) lists th sport so
    assert observe.nft_strip_records(trixie).strip() == stripped.splitlines()[-3].strip()


def test_a_record_rule_that_differs_from_ours_is_a_change():
    """Issue 34, 1: the comparison once removed `meta l4proto icmp` from the record rules before
    comparing, so a table whose ICMP record rule had lost it (every packet recorded by its source
    port) compared equal and was never repaired. Every match of every record rule counts."""
    table = nftables.render_table(plan({"mode": "host", "state": "block"}))
    wanted = nftables.normalise(table)
    record_rules = [line for line in table.splitlines() if "update @observed_" in line]
    assert len(record_rules) == 6
    for line in record_rules:
        match = line.strip().split(" update ", 1)[0]
        if match.startswith("update"):
            continue                                      # the ICMP rule has no match to lose
        assert nftables.normalise(table.replace(line, line.replace(match + " ", "", 1))) != wanted, line
        assert nftables.normalise(table.replace(line, line.replace(" return", ""))) != wanted, line
    # the rule as 05537da rendered it, and as nft 1.0.6 listed it: neither is ours
    for old in ("\t\tmeta l4proto icmp update @observed_v4 { ip saddr . meta l4proto . th sport } add @first_seen_v4 "
                "{ ip saddr . meta l4proto . th sport }",
                "\t\tupdate @observed_v4 { ip saddr . meta l4proto . th sport } add @first_seen_v4 "
                "{ ip saddr . meta l4proto . th sport }"):
        broken = [line for line in table.splitlines() if "_v4 { ip saddr . meta l4proto . 0 }" not in line]
        broken = "\n".join(old if "th sport" in line and "_v4" in line else line for line in broken)
        assert nftables.normalise(broken) != wanted


def test_the_record_rules_hold_no_match_nft_leaves_out():
    """nft 1.0 lists `meta l4proto icmp` before `th sport` as nothing (th's dependency): no record
    rule may hold a protocol match followed by a transport header field."""
    for line in observe.nft_definitions():
        if "th sport" in line or "th dport" in line:
            match = line.strip().split(" update ", 1)[0]
            assert match.startswith("update") or "{" in match, line      # none, or a set nft prints


def test_record_sets_are_created_once_and_never_rewritten():
    live = iptables.parse_ipset_save(IPSET_SAVE)
    desired = {"mseg-obs-first-v4": [], "mseg-obs-last-v4": [], "mseg-obs-first-v6": []}
    script, obsolete, notes = iptables.set_changes(desired, live)
    assert script.splitlines() == [observe.ipset_create_lines("ipv6")[0]] and obsolete == []
    assert notes == ["create ipset mseg-obs-first-v6 (flow records)"]
    assert iptables.set_changes({}, live)[1] == ["mseg-obs-first-v4", "mseg-obs-last-v4"]      # removal destroys them
