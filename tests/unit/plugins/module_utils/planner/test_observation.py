# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet's observation: sources mapped to the inventory, flows aggregated, whitelist entries
suggested (groups when every member was seen, then hosts, then the smallest CIDRs; never a
blacklisted source, never what the whitelist already admits), and the files."""
from __future__ import annotations

import json
import time

import yaml

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner import observe, observe_report

NOW = 1795750000
HOSTS = {"cp": {"addresses": ["10.0.0.1"]}, "c1": {"addresses": ["10.0.1.1"]}, "c2": {"addresses": ["10.0.1.2"]},
         "c3": {"addresses": ["10.0.1.3"]}}
GROUPS = {"all": ["cp", "c1", "c2", "c3"], "ungrouped": [], "masters": ["cp"], "clients": ["c1", "c2"],
          "office": ["c1", "c2", "c3"]}


def record(source, proto="tcp", port=8080, packets=1, icmp=None):
    return {"family": "ipv4", "source": source, "proto": proto, "port": port, "icmp_type": icmp,
            "icmp_code": 0 if icmp is not None else None, "packets": packets, "bytes": 60 * packets,
            "first_seen": NOW - 100, "last_seen": NOW - 10}


def observed(records, hits=()):
    nodes = {"cp": {"backend": "nftables", "records": records, "rule_hits": list(hits)}}
    return observe.fleet_observation(nodes, HOSTS, GROUPS, NOW)


def test_sources_map_to_hosts_and_groups_and_flows_sort_by_packets():
    result = observed([record("10.0.1.1", port=22, packets=1), record("10.0.1.1", packets=5), record("10.0.1.2", packets=2),
                       record("192.0.2.7", proto="udp", port=53, packets=1)],
                      hits=[{"rule": "microseg: k8s_apiserver", "packets": 0, "bytes": 0},
                            {"rule": "microseg: loopback", "packets": 9, "bytes": 900}])
    first = result["flows"][0]
    assert (first["destination"], first["proto"], first["port"], first["packets"]) == ("cp", "tcp", 8080, 7)
    assert [(source["host"], source["groups"]) for source in first["sources"]] == [
        ("c1", ["clients", "office"]), ("c2", ["clients", "office"])]
    outside = [flow for flow in result["flows"] if flow["proto"] == "udp"][0]["sources"][0]
    assert outside["host"] is None and outside["groups"] == []
    assert result["nodes"]["cp"]["unused_rules"] == ["microseg: k8s_apiserver"]
    assert [entry["port"] for entry in result["groups"]["masters"]] == [8080, 22, 53]
    json.dumps(result)                                                   # observed.json


def test_generalise_to_whole_groups_then_hosts_then_cidrs():
    assert observe.generalise(["c1", "c2"], [], GROUPS) == ["clients"]
    assert observe.generalise(["c1", "c2", "c3"], [], GROUPS) == ["office"]
    assert observe.generalise(["c1"], ["192.0.2.4", "192.0.2.5", "192.0.2.9", "2001:db8::1"], GROUPS) == [
        "c1", "192.0.2.4/31", "192.0.2.9/32", "2001:db8::1/128"]


def test_suggestions_leave_out_the_blacklist_and_what_the_whitelist_admits():
    hosts = dict(HOSTS)
    hosts["cp"] = {"addresses": ["10.0.0.1"], "blacklist": [{"from": ["c2"]}],
                   "whitelist": [{"port": 22, "from": ["clients"]}]}
    result = observed([record("10.0.1.1"), record("10.0.1.2"), record("10.0.1.1", port=22), record("10.0.1.3", port=22),
                       record("10.0.1.1", proto="icmp", port=None, icmp=8), record("10.0.1.1", proto="dccp", port=9)])
    suggested = observe.suggestions(result, hosts, GROUPS)["cp"]
    by_flow = dict(((entry["proto"], entry["port"]), entry) for entry in suggested)
    assert set(by_flow) == {("tcp", 8080), ("tcp", 22), ("icmp", None)}          # no whitelist entry can say dccp
    assert by_flow["tcp", 8080]["from"] == ["c1"] and by_flow["tcp", 8080]["left_out"] == ["10.0.1.2"]
    assert by_flow["tcp", 22]["from"] == ["c3"]                                   # c1 is admitted already


def test_files_render_and_the_suggestion_is_an_inventory_source():
    result = observed([record("10.0.1.1"), record("10.0.1.2")])
    suggested = observe.suggestions(result, HOSTS, GROUPS)
    text = observe_report.suggested_yaml(result, suggested, {"cp": [{"port": 9100, "from": ["masters"]}]})
    inventory = yaml.safe_load(text)
    day = time.strftime("%Y-%m-%d", time.gmtime(NOW))
    assert inventory["all"]["hosts"]["cp"]["microseg_whitelist"] == [
        {"port": 9100, "from": ["masters"]}, {"port": 8080, "proto": "tcp", "from": ["clients"], "comment": "observed " + day}]
    assert "# tcp 8080: 2 packets from c1, c2" in text
    html = observe_report.html(result, suggested)
    assert html.startswith("<!DOCTYPE html>") and "<script" not in html and "http" not in html
    assert "tcp 8080" in observe_report.markdown(result, suggested)
    assert observe_report.summary_lines(result) == ["cp: nftables, 2 records, 1 flows not admitted (2 packets), 0 of 0 rules never hit"]


def test_nothing_observed_still_writes_valid_files():
    result = observe.fleet_observation({"cp": {"backend": None, "records": [], "rule_hits": []}}, HOSTS, GROUPS, NOW)
    assert yaml.safe_load(observe_report.suggested_yaml(result, {}, {})) == {"all": {"hosts": {}}}
    assert "No flow was recorded" in observe_report.html(result, {})


def test_ports_from_the_same_sources_join_and_a_scan_is_flagged():
    scan = [record("10.0.1.1", proto="udp", port=port) for port in range(1, 101)]
    scan += [record("10.0.1.1", port=443), record("10.0.1.2", port=443)]
    result = observed(scan)
    suggested = observe.suggestions(result, HOSTS, GROUPS)["cp"]
    udp = [entry for entry in suggested if entry["proto"] == "udp"]
    assert len(udp) == 1 and udp[0]["port"] == "1-100" and udp[0]["ports"] == 100 and udp[0]["from"] == ["c1"]
    assert [entry["port"] for entry in suggested if entry["proto"] == "tcp"] == [443]
    text = observe_report.suggested_yaml(result, {"cp": suggested}, {})
    assert "udp 1-100: 100 packets from c1" in text and "MANY PORTS: a scan?" in text
    entries = yaml.safe_load(text)["all"]["hosts"]["cp"]["microseg_whitelist"]
    assert {"port": "1-100", "proto": "udp", "from": ["c1"]} in [dict((key, entry[key]) for key in ("port", "proto", "from"))
                                                                 for entry in entries]
