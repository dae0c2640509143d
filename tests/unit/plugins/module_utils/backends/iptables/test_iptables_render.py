# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""iptables backend, pure part: rendering, live-state parsing, what to change."""
from __future__ import annotations

import pytest

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.iptables import render as iptables
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.iptables.host import (
    BackendError,
    parse_ipsets,
    parse_ruleset,
)
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.plan import compile_plan

INVENTORY = {"hosts": {"cp1": {"addresses": ["10.89.0.11", "fd00::11"]}, "w1": {"addresses": ["10.89.0.21"]}},
             "groups": {"kube_control_plane": ["cp1"], "kube_node": ["w1"]}}


def plan(policy=None, features=("flannel_vxlan",), name="cp1"):
    return compile_plan({"name": name, "features": list(features), "controller_address": "10.89.0.1"},
                        INVENTORY, policy or {"mode": "host"})


def test_rules_are_rendered_in_iptables_save_form():
    rules = iptables.render_rules(plan(), "ipv4")
    assert rules[0] == '-i lo -m comment --comment "microseg: loopback" -j ACCEPT'
    # the essential ICMP types, ahead of the blacklist
    assert rules[1:4] == ['-p icmp -m icmp --icmp-type %d -m comment --comment "microseg: icmp_essential" -j ACCEPT'
                          % kind for kind in (3, 11, 12)]
    assert rules[4] == ('-p tcp -m tcp --dport 22 -m set --match-set mseg-management-v4 src '
                        '-m comment --comment "microseg: management_ssh" -j ACCEPT')
    # the blacklist (none here) would come next; then what every host needs
    assert rules[5] == '-m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "microseg: established" -j ACCEPT'
    assert rules[6] == '-m conntrack --ctstate DNAT -m comment --comment "microseg: dnat" -j ACCEPT'
    assert ('-p tcp -m tcp --dport 2379:2380 -m set --match-set mseg-control_plane-v4 src '
            '-m comment --comment "microseg: etcd_client,etcd_peer" -j ACCEPT') in rules
    assert ('-p tcp -m multiport --dports 10257,10259 -m set --match-set mseg-self-v4 src '
            '-m comment --comment "microseg: k8s_scheduler,k8s_controller_manager" -j ACCEPT') in rules
    assert rules[-1] == '-m comment --comment "microseg: block everything else" -j DROP'


def test_ipv6_rules_use_ipv6_sets_and_icmpv6():
    rules = iptables.render_rules(plan(), "ipv6")
    assert any("-p ipv6-icmp -m icmp6 --icmpv6-type 135" in rule for rule in rules)
    assert not any("--icmp-type" in rule for rule in rules)
    assert any("mseg-control_plane-v6" in rule for rule in rules)
    assert not any("-v4 src" in rule for rule in rules)


def test_states_render_their_actions():
    alert = iptables.render_rules(plan({"mode": "host", "state": "alert"}), "ipv4")
    assert alert[-2:] == ['-m limit --limit 5/min -m comment --comment "microseg: alert everything else" '
                          '-j LOG --log-prefix "microseg alert: "',
                          '-m comment --comment "microseg: alert everything else" -j RETURN']
    monitor = iptables.render_rules(plan({"mode": "host", "state": "monitor"}), "ipv4")
    assert monitor[-1] == '-m comment --comment "microseg: monitor everything else" -j RETURN'
    assert not any(rule.endswith("-j DROP") for rule in alert + monitor)
    service = iptables.render_rules(plan({"mode": "service"}), "ipv4")
    # the guard: flannel's port and the NodePorts (kube-proxy serves them on control planes too)
    assert service[-1].endswith("-j DROP") and "-p udp -m multiport --dports 8472,30000:32767" in service[-1]


def test_protocols_without_a_builtin_name_are_numbers():
    rules = iptables.render_rules(plan({"mode": "host", "whitelist": [{"proto": "gre", "from": ["w1"]},
                                                                      {"proto": "esp"}]}, ()), "ipv4")
    assert any(rule.startswith("-p 47 -m set") for rule in rules)
    assert any(rule.startswith("-p esp -m comment") for rule in rules)
    assert iptables.normalise_rule("-p ipencap -j ACCEPT", {"ipencap": "4"}) == "-p 4 -j ACCEPT"
    assert iptables.normalise_rule("-p tcp -m tcp --dport 1 -j ACCEPT", {"tcp": "6"}) == "-p tcp -m tcp --dport 1 -j ACCEPT"


def test_multiport_is_split_every_fifteen_ports():
    ports = list(range(9000, 9040, 2))           # 20 single ports
    rules = iptables.render_rules(plan({"mode": "host", "whitelist": [{"port": ports}]}, ()), "ipv4")
    chunks = [rule for rule in rules if "-m multiport" in rule and "microseg_whitelist[0]" in rule]
    assert len(chunks) == 2
    assert len(chunks[0].split("--dports ")[1].split()[0].split(",")) == 15
    ranges = [(low, low + 1) for low in range(1000, 1040, 4)]        # ranges count two
    assert [len(chunk) for chunk in iptables._port_chunks(ranges)] == [7, 3]


def test_passthrough_renders_nothing():
    nothing = plan({"mode": "host"}, (), name="w1")
    assert "-A MICROSEG-INPUT" in iptables.ruleset_file(nothing, "ipv4")
    empty = compile_plan({"name": "x"}, {"hosts": {"x": {"addresses": ["10.0.0.1"]}}, "groups": {}}, {})
    assert "-A " not in iptables.ruleset_file(empty, "ipv4")
    assert "create" not in iptables.ipsets_file(empty)


SAVE = """# Generated by iptables-nft-save
*filter
:INPUT ACCEPT [0:0]
:MICROSEG-INPUT - [0:0]
:KUBE-FIREWALL - [0:0]
-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS
%s
-A INPUT -j KUBE-FIREWALL
-A MICROSEG-INPUT -p ipencap -j ACCEPT
COMMIT
*nat
-A MICROSEG-INPUT -this-is-not-filter
COMMIT
"""


def test_parse_save_reads_only_our_chain_and_input():
    live = iptables.parse_save(SAVE % iptables.JUMP, {"ipencap": "4"})
    assert live["chain_exists"] is True
    assert live["rules"] == ["-p 4 -j ACCEPT"]
    assert len(live["input"]) == 3


@pytest.mark.parametrize("input_specs, ok, after", [
    (["-j KUBE-FIREWALL", iptables.JUMP[10:]], True, 0),
    ([iptables.JUMP[10:], "-j KUBE-FIREWALL"], False, 1),               # a CNI appended after ours
    (["-j cali-INPUT", iptables.JUMP[10:], iptables.JUMP[10:]], False, 0),   # duplicated
    (["-j cali-INPUT"], False, 0),                                      # missing
    ([iptables.JUMP[10:], "-s 10.0.0.1 -j ACCEPT"], True, 0),           # a user's own rule after ours is fine
    (["-j KUBE-FIREWALL", "-j REJECT --reject-with icmp-host-prohibited", iptables.JUMP[10:]], False, 0),
    (["-j KUBE-FIREWALL", iptables.JUMP[10:], "-j REJECT --reject-with icmp-host-prohibited"], True, 0),
])
def test_jump_state(input_specs, ok, after):
    state = iptables.jump_state(input_specs)
    assert state["ok"] is ok and len(state["after_ours"]) == after


def test_our_jump_goes_ahead_of_a_distributions_terminal_reject():
    """EL's iptables-services: `-A INPUT -j REJECT` last; kube-proxy's jumps on top."""
    rules = ["-p tcp -m tcp --dport 6443 -j ACCEPT"]
    live = {"chain_exists": False, "rules": [], "input": [
        "-m conntrack --ctstate NEW -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES",
        "-j KUBE-FIREWALL", "-m state --state RELATED,ESTABLISHED -j ACCEPT", "-p icmp -j ACCEPT", "-i lo -j ACCEPT",
        "-p tcp -m state --state NEW -m tcp --dport 22 -j ACCEPT", "-j REJECT --reject-with icmp-host-prohibited"]}
    script = iptables.restore_script(rules, live)
    assert "-I INPUT 7 " + iptables.JUMP[len("-A INPUT "):] in script and "\n" + iptables.JUMP not in script
    placed = dict(live, chain_exists=True, rules=rules, input=live["input"][:6] + [iptables.JUMP[10:]] + live["input"][6:])
    assert iptables.restore_script(rules, placed) is None                      # a second run: nothing
    # our jump after the REJECT (appended by an older release): moved ahead of it
    late = dict(placed, input=live["input"] + [iptables.JUMP[10:]])
    script = iptables.restore_script(rules, late)
    assert "-D INPUT " + iptables.JUMP[10:] in script and "-I INPUT 7 " in script


UFW_INPUT = ["-j ufw-before-logging-input", "-j ufw-before-input", "-j ufw-after-input",
             "-j ufw-after-logging-input", "-j ufw-reject-input", "-j ufw-track-input"]


def test_our_jump_goes_ahead_of_ufws_chains_and_after_kubernetes():
    """ufw appends its jumps; the plan decides first, ufw what the plan leaves."""
    rules = ["-p tcp -m tcp --dport 6443 -j ACCEPT"]
    live = {"chain_exists": False, "rules": [], "input": ["-j KUBE-FIREWALL"] + UFW_INPUT}
    state = iptables.jump_state(live["input"])
    assert state["host_firewall"] == "-j ufw-before-logging-input" and state["position"] == 2
    script = iptables.restore_script(rules, live)
    assert "-I INPUT 2 " + iptables.JUMP[len("-A INPUT "):] in script
    placed = dict(live, chain_exists=True, rules=rules, input=["-j KUBE-FIREWALL", iptables.JUMP[10:]] + UFW_INPUT)
    assert iptables.jump_state(placed["input"])["ok"] and iptables.restore_script(rules, placed) is None
    late = dict(placed, input=["-j KUBE-FIREWALL"] + UFW_INPUT + [iptables.JUMP[10:]])      # appended by an older release
    assert not iptables.jump_state(late["input"])["ok"]
    assert "-I INPUT 2 " in iptables.restore_script(rules, late)
    v6 = ["-j ufw6-before-logging-input", "-j ufw6-before-input"]
    assert iptables.jump_state(v6)["position"] == 1


def test_restore_script_fixes_only_what_is_wrong():
    rules = ["-p tcp -m tcp --dport 1 -j ACCEPT"]
    right = {"chain_exists": True, "rules": rules, "input": ["-j KUBE-FIREWALL", iptables.JUMP[10:]]}
    assert iptables.restore_script(rules, right) is None
    wrong_rules = dict(right, rules=[])
    script = iptables.restore_script(rules, wrong_rules)
    assert "-A MICROSEG-INPUT -p tcp -m tcp --dport 1 -j ACCEPT" in script and "-D INPUT" not in script
    misplaced = dict(right, input=[iptables.JUMP[10:], "-j KUBE-FIREWALL"])
    script = iptables.restore_script(rules, misplaced)
    assert script.index("-D INPUT " + iptables.JUMP[10:]) < script.index(iptables.JUMP)
    assert "-F INPUT" not in script and "-X" not in script          # never flushes what is not ours
    removal = iptables.restore_script([], right, remove=True)
    assert removal.splitlines() == ["*filter", "-D INPUT " + iptables.JUMP[10:], "-F MICROSEG-INPUT",
                                    "-X MICROSEG-INPUT", "COMMIT"]
    assert iptables.restore_script([], {"chain_exists": False, "rules": [], "input": []}, remove=True) is None


def test_set_changes_create_swap_and_destroy():
    live = iptables.parse_ipset_save("create mseg-a-v4 hash:net family inet hashsize 1024 maxelem 65536\n"
                                     "add mseg-a-v4 10.0.0.1\nadd mseg-a-v4 10.0.1.0/24\n"
                                     "create mseg-old-v4 hash:net family inet\ncreate other hash:ip family inet\n")
    assert sorted(live) == ["mseg-a-v4", "mseg-old-v4"]            # only ours
    assert live["mseg-a-v4"]["members"] == ["10.0.0.1/32", "10.0.1.0/24"]
    same = {"mseg-a-v4": ["10.0.1.0/24", "10.0.0.1/32"]}
    script, obsolete, _notes = iptables.set_changes(same, live)
    assert script == "" and obsolete == ["mseg-old-v4"]
    script, _obsolete, notes = iptables.set_changes({"mseg-a-v4": ["10.0.0.2/32"], "mseg-b-v6": ["fd00::1/128"]}, live)
    assert "swap mseg-a-v4-new mseg-a-v4" in script and "create mseg-b-v6 hash:net family inet6" in script
    assert notes == ["update ipset mseg-a-v4 (1 entries)", "create ipset mseg-b-v6 (1 entries)"]


def test_a_temporary_set_a_failed_swap_left_goes_unless_this_change_swaps_through_it():
    """Issue 34, 7: mseg-*-new sets were never obsolete, so a removal left them behind and a second
    removal said nothing was left to change."""
    live = iptables.parse_ipset_save("create mseg-a-v4 hash:net family inet\nadd mseg-a-v4 10.0.0.1\n"
                                     "create mseg-a-v4-new hash:net family inet\nadd mseg-a-v4-new 10.0.0.9\n"
                                     "create mseg-b-v6-new hash:net family inet6\n")
    assert iptables.set_changes({}, live)[1] == ["mseg-a-v4", "mseg-a-v4-new", "mseg-b-v6-new"]        # removal
    script, obsolete, _notes = iptables.set_changes({"mseg-a-v4": ["10.0.0.1/32"]}, live)
    assert script == "" and obsolete == ["mseg-a-v4-new", "mseg-b-v6-new"]                        # nothing reuses them
    script, obsolete, _notes = iptables.set_changes({"mseg-a-v4": ["10.0.0.2/32"]}, live)
    assert "swap mseg-a-v4-new mseg-a-v4" in script and "destroy mseg-a-v4-new" in script
    assert obsolete == ["mseg-b-v6-new"]                 # mseg-a-v4-new is flushed, swapped and destroyed by the script


def test_rendered_files_round_trip_through_the_module_parsers():
    one = plan({"mode": "host", "blacklist": [{"from": ["10.89.0.99"]}]})
    assert parse_ruleset(iptables.ruleset_file(one, "ipv4"), "ipv4") == iptables.render_rules(one, "ipv4")
    sets = parse_ipsets(iptables.ipsets_file(one))
    assert sets["mseg-control_plane-v4"] == ["10.89.0.11/32"] and sets["mseg-control_plane-v6"] == ["fd00::11/128"]


@pytest.mark.parametrize("text, fragment", [
    ("*filter\n-A INPUT -j ACCEPT\nCOMMIT\n", "'-A INPUT -j ACCEPT' is not allowed"),
    ("*filter\n-F KUBE-FIREWALL\n", "is not allowed"),
    ("*nat\n", "'*nat' is not allowed"),
])
def test_a_ruleset_may_only_hold_our_chain(text, fragment):
    with pytest.raises(BackendError, match=fragment.replace("*", r"\*").replace("[", r"\[")):
        parse_ruleset(text, "ipv4")


def test_ipsets_may_only_hold_our_sets():
    with pytest.raises(BackendError, match="only 'create mseg-NAME"):
        parse_ipsets("create kube-x hash:net\n")
    with pytest.raises(BackendError, match="added to before it is created"):
        parse_ipsets("add mseg-a-v4 10.0.0.1\n")


def test_protocols_iptables_save_prints_by_name_compare_as_numbers_without_etc_protocols():
    """iptables-save prints -p 33 and -p 136 as dccp and udplite, also where /etc/protocols is missing."""
    assert iptables.normalise_rule("-p dccp -j ACCEPT", {}) == "-p 33 -j ACCEPT"
    assert iptables.normalise_rule("-p udplite -j ACCEPT", {}) == "-p 136 -j ACCEPT"
    assert iptables.normalise_rule("-p tcp -m tcp --dport 22 -j ACCEPT", {}) == "-p tcp -m tcp --dport 22 -j ACCEPT"


def test_a_filter_table_holding_only_our_chain_is_ours_to_remove():
    ours = ("*filter\n:INPUT ACCEPT [0:0]\n:MICROSEG-INPUT - [0:0]\n-A INPUT -m comment --comment \"%s\" -j MICROSEG-INPUT\n"
            "-A MICROSEG-INPUT -i lo -j ACCEPT\nCOMMIT\n" % iptables.JUMP_COMMENT)
    assert iptables.only_ours(iptables.parse_save(ours))
    for other in (":DOCKER - [0:0]\n", "-A INPUT -j DROP\n", "-A FORWARD -j ACCEPT\n", ":OUTPUT DROP [0:0]\n"):
        assert not iptables.only_ours(iptables.parse_save(ours.replace("COMMIT\n", other + "COMMIT\n")))
    assert not iptables.only_ours(iptables.parse_save(""))


def test_a_void_nft_table_has_only_empty_accepting_base_chains():
    def table(*items):
        return {"nftables": [{"metainfo": {}}, {"table": {"family": "ip6", "name": "filter"}}] + list(items)}
    base = {"chain": {"name": "INPUT", "hook": "input", "policy": "accept"}}
    assert iptables.void_nft_table(table(base))
    assert not iptables.void_nft_table(table(base, {"rule": {"chain": "INPUT"}}))
    assert not iptables.void_nft_table(table({"chain": {"name": "INPUT", "hook": "input", "policy": "drop"}}))
    assert not iptables.void_nft_table(table(base, {"chain": {"name": "KUBE-FIREWALL"}}))
    assert not iptables.void_nft_table(table(base, {"set": {"name": "s"}}))
