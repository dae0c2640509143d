# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.plan import compile_plan
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.report import plan_markdown, plan_summary, plan_table

INVENTORY = {
    "hosts": {"cp1": {"addresses": ["192.0.2.11"]}, "w1": {"addresses": ["192.0.2.21", "2001:db8::21"]},
              "mon": {"addresses": ["203.0.113.5"]}},
    "groups": {"kube_control_plane": ["cp1"], "kube_node": ["w1"], "monitoring": ["mon"]},
}


def test_table_shows_what_from_where_and_why():
    plan = compile_plan({"name": "cp1", "features": ["flannel_vxlan"]}, INVENTORY, {"mode": "host"})
    text = plan_table(plan)
    lines = text.splitlines()
    assert lines[0] == "cp1  roles: etcd, kube_control_plane"
    assert "policy: mode=host state=block scope=node_ip" in text
    row = [line for line in lines if "etcd_client" in line][0].split()
    assert row[1:6] == ["whitelist", "admit", "tcp", "2379-2380", "control_plane"]
    # the second reason of a merged rule sits on its own line under the first
    assert [line for line in lines if "etcd_peer" in line][0].split()[0] == "etcd_peer:"
    assert "  everything else: DROP" in lines
    assert "    control_plane = 192.0.2.11/32  (addresses of the hosts with role etcd or kube_control_plane)" in lines
    assert "warning: no management source known" in text


def test_table_for_passthrough_conflicts_and_families():
    assert "every packet passes" in plan_table(compile_plan({"name": "mon"}, INVENTORY, {}))
    plan = compile_plan({"name": "w1"}, INVENTORY, {
        "state": "alert", "whitelist": [{"port": 9100, "from": ["monitoring"]}],
        "blacklist": [{"from": ["203.0.113.0/24"]}]})
    text = plan_table(plan)
    assert "log+pass" in text and "everything else: pass" in text
    assert "conflict: the blacklist wins" in text and "(microseg_blacklist[0] vs microseg_whitelist[0])" in text
    assert "(ipv4)" in text                      # the monitoring set has no IPv6 entry


def test_a_large_set_shows_its_first_entries_and_a_count():
    hosts = dict(("n%d" % index, {"addresses": ["10.1.%d.%d" % (index // 200, index % 200 * 2)]}) for index in range(50))
    inventory = {"hosts": hosts, "groups": {"kube_node": sorted(hosts)}}
    plan = compile_plan({"name": "n0", "features": ["flannel_vxlan"]}, inventory, {"mode": "host"})
    line = [line for line in plan_table(plan).splitlines() if line.startswith("    cluster_nodes = ")][0]
    assert line.count("/32") == 8 and "... (50 in all)" in line


def test_the_summary_is_one_line():
    plan = compile_plan({"name": "cp1", "features": ["flannel_vxlan"], "pod_cidrs": ["10.244.0.0/16"]}, INVENTORY,
                        {"mode": "host"})
    line = plan_summary(plan)
    assert "\n" not in line
    assert line.startswith("cp1  roles: etcd,kube_control_plane  mode=host state=block  ")
    assert "everything else: DROP" in line and "warnings: 1" in line


def _cp1():
    return compile_plan({"name": "cp1", "features": ["flannel_vxlan", "kubelet", "k8s_nodeport"],
                         "pod_cidrs": ["10.244.0.0/16"]}, INVENTORY, {"mode": "host", "management_cidrs": ["203.0.113.0/28"]})


def test_brief_says_the_rows_every_node_has_in_one_line():
    plan = _cp1()
    full, brief = plan_table(plan).splitlines(), plan_table(plan, brief=True).splitlines()
    common = [number for number, rule in enumerate(plan["rules"], 1) if rule["phase"] in ("base", "essential")]
    assert len(common) >= 5
    summary = [line for line in brief if "base/essential" in line]
    assert summary == ["  #%s base/essential: loopback, icmp_essential, established, dnat, dhcpv6_client "
                       "(the same on every node)" % ",".join(str(number) for number in common)]
    assert len(full) - len(brief) == len(common) - 1
    assert not [line for line in brief if line.split()[:1] in (["1"], ["3"]) and "essential" in line]
    assert [line.split() for line in brief if "etcd_client" in line] == [line.split() for line in full if "etcd_client" in line]


def test_width_bounds_every_line_and_keeps_every_word():
    plan = _cp1()
    for width in (100, 120):          # the columns before "why" are never split: 95 wide here
        text = plan_table(plan, brief=True, width=width)
        assert max(len(line) for line in text.splitlines()) <= width
        # wrapping moves words, never loses one (reasons under their rows drop the "why" heading)
        words = plan_table(plan, brief=True).split()
        if "#   phase       action  proto  ports             from [-> to]" in text:
            words.remove("why")
        assert sorted(text.split()) == sorted(words)
    # a narrow bound puts each rule's reasons under its row, indented
    lines = plan_table(plan, width=80).splitlines()
    row = [index for index, line in enumerate(lines) if line.split()[1:3] == ["whitelist", "admit"]][0]
    assert lines[row + 1].startswith("      ") and ":" in lines[row + 1]


def test_markdown_holds_every_rule_and_every_set_entry():
    hosts = dict(("n%d" % index, {"addresses": ["10.1.0.%d" % (index * 2)]}) for index in range(20))
    inventory = {"hosts": hosts, "groups": {"kube_node": sorted(hosts)}}
    plan = compile_plan({"name": "n0", "features": ["flannel_vxlan"]}, inventory, {
        "mode": "host", "whitelist": [{"port": 9100, "from": ["203.0.113.7"], "comment": "a | b"}]})
    text = plan_markdown(plan)
    assert text.startswith("# n0\n")
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| #")]
    assert [row.split(" | ")[0] for row in rows if row.split(" | ")[0] != "| "] == [
        "| %d" % number for number in range(1, len(plan["rules"]) + 1)]
    assert "a \\| b" in text                       # a | in a cell is escaped
    cluster = [line for line in text.splitlines() if line.startswith("- `cluster_nodes`")][0]
    assert cluster.count("/32") == 20 and "..." not in cluster
    assert "Everything else: **DROP**." in text
