# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The planner against the inputs a hostile review tried (issue 14): each test fails without its fix."""
from __future__ import annotations

import pytest

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.iptables import render as iptables
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.nftables import render as nftables
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.errors import PlanError
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.inventory import host_addresses
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.plan import compile_plan

HOSTS = {"cp1": ["192.0.2.11"], "cp2": ["192.0.2.12"], "w1": ["192.0.2.21"], "mon": ["203.0.113.5"],
         "v6only": ["2001:db8::31"]}
GROUPS = {"kube_control_plane": ["cp1", "cp2"], "kube_node": ["w1", "v6only"], "monitoring": ["mon"]}


def inventory(hosts=None, groups=None):
    hosts = HOSTS if hosts is None else hosts
    return {"hosts": dict((name, {"addresses": list(addresses)}) for name, addresses in hosts.items()),
            "groups": dict(GROUPS if groups is None else groups, all=sorted(hosts))}


def plan(name="cp1", policy=None, inv=None, **node):
    return compile_plan(dict(node, name=name), inv or inventory(), policy or {})


def rules(result, phase):
    return [rule for rule in result["rules"] if rule["phase"] == phase]


# 3. a /0 means any source: no ipset holds it

@pytest.mark.parametrize("policy", [
    {"mode": "host", "whitelist": [{"port": 8080, "from": ["0.0.0.0/0"]}]},
    {"mode": "host", "whitelist": [{"port": 8080, "from": ["0.0.0.0/1", "128.0.0.0/1"]}]},   # merges into /0
    {"mode": "host", "management_cidrs": ["0.0.0.0/0"], "whitelist": [{"port": 8080}]},
    {"mode": "host", "scope": "cidr", "trusted_cidrs": ["0.0.0.0/0", "::/0"], "whitelist": [{"port": 8080}]},
])
def test_a_whole_family_in_a_set_becomes_any_source_and_no_set_holds_it(policy):
    result = plan("w1", policy=policy, features=["flannel_vxlan"])
    for content in result["sets"].values():
        assert "0.0.0.0/0" not in content["ipv4"] and "::/0" not in content["ipv6"]
    # the ipsets restore file never has a /0 (hash:net refuses it)
    assert "/0" not in iptables.ipsets_file(result)


def test_a_set_with_a_whole_ipv4_and_some_ipv6_keeps_its_ipv6_part():
    result = plan("w1", policy={"mode": "host", "whitelist": [{"port": 8080, "from": ["0.0.0.0/0", "2001:db8::/32"]}]})
    on_8080 = [(r["from"], r["families"]) for r in rules(result, "whitelist") if r["ports"] == ["8080"]]
    assert ([], ["ipv4"]) in on_8080                       # every IPv4 source: no set
    ipv6 = [names for names, families in on_8080 if families == ["ipv6"]]
    assert len(on_8080) == 2 and len(ipv6) == 1 and len(ipv6[0]) == 1
    assert result["sets"][ipv6[0][0]]["ipv6"] == ["2001:db8::/32"]
    assert result["sets"][ipv6[0][0]]["ipv4"] == []


# 4. protocols the two backends cannot match alike

@pytest.mark.parametrize("proto", [0, "0", 43, 44, 60, 255])
def test_protocols_the_backends_read_differently_are_refused(proto):
    with pytest.raises(PlanError, match=r"microseg_whitelist\[0\]\.proto: protocol %d" % int(proto)):
        plan("cp1", policy={"mode": "host", "whitelist": [{"proto": proto, "from": ["mon"]}]})


# 5. scope port never drops the API server restriction

def test_scope_port_keeps_the_api_server_restriction():
    result = plan("cp1", policy={"mode": "host", "scope": "port", "apiserver_from": ["198.51.100.0/24"]})
    apiserver = [r for r in rules(result, "whitelist") if r["ports"] == ["6443"]]
    assert apiserver and all(r["from"] for r in apiserver), apiserver
    assert "cluster_nodes" in apiserver[0]["from"] and "apiserver_clients" in apiserver[0]["from"]
    assert any("scope port with microseg_apiserver_from" in w for w in result["warnings"])
    # the cluster's own flows are open to any source there, as scope port says
    assert not [r for r in rules(result, "whitelist") if "control_plane" in r["from"]]
    assert any(r["from"] == [] and "2379-2380" in r["ports"] for r in rules(result, "whitelist"))


# 6. peers that cannot be placed are named, and block refuses to cut them silently

def test_peers_without_an_address_are_named_and_block_refuses_the_plan():
    hosts = dict(HOSTS, cp3=[])
    inv = inventory(hosts, dict(GROUPS, kube_control_plane=["cp1", "cp2", "cp3"]))
    with pytest.raises(PlanError) as error:
        plan("w1", inv=inv, policy={"mode": "host", "state": "block"})
    assert "cp3 (" in str(error.value) and "microseg_allow_missing_peers" in str(error.value)
    allowed = plan("w1", inv=inv, policy={"mode": "host", "allow_missing_peers": True})
    assert any("cp3 (" in w and "no known address" in w for w in allowed["warnings"])
    watched = plan("w1", inv=inv, policy={"mode": "host", "state": "monitor"})
    assert any("cp3 (" in w for w in watched["warnings"])
    # a member of a group used in a 'from' counts as well
    inv = inventory(dict(HOSTS, mon2=[]), dict(GROUPS, monitoring=["mon", "mon2"]))
    with pytest.raises(PlanError, match=r"mon2 \(from_"):
        plan("w1", inv=inv, policy={"mode": "host", "whitelist": [{"port": 9100, "from": ["monitoring"]}]})


# 7. a DNS name of hex letters is a name

@pytest.mark.parametrize("name", ["cafe.de", "add.be", "dead.beef.cafe", "face.b00c"])
def test_a_dns_name_made_of_hex_letters_is_not_an_address(name):
    assert host_addresses({"ansible_host": name}) == []
    assert host_addresses({"ansible_host": "192.0.2.7"}) == ["192.0.2.7"]
    assert host_addresses({"ansible_host": "2001:db8::7"}) == ["2001:db8::7"]


# 8. the blacklist is final: ahead of DNAT'ed traffic; NodePorts really closed; management conflict

def test_nodeports_off_in_host_mode_also_refuse_dnated_nodeport_connections():
    result = plan("w1", policy={"mode": "host", "nodeport": False}, ports={"nodeport_range": "31000-31999"})
    closed = [r for r in result["rules"] if r["match"] == "dnat" and r["ports"]]
    assert [(r["proto"], r["ports"], r["action"]) for r in closed] == [("tcp", ["31000-31999"], "drop"),
                                                                       ("udp", ["31000-31999"], "drop")]
    # the closing rules come before the DNAT admit, which would take them otherwise
    dnat = [r["ports"] for r in result["rules"] if r["match"] == "dnat"]
    assert dnat == [["31000-31999"], ["31000-31999"], []]
    assert "--ctorigdstport 31000:31999" in "\n".join(iptables.render_rules(result, "ipv4"))
    assert "ct original proto-dst 31000-31999 counter drop" in "\n".join(nftables.render_rules(result))
    # with NodePorts on, or in service mode, nothing is closed
    assert not [r for r in plan("w1", policy={"mode": "host"})["rules"] if r["match"] == "dnat" and r["ports"]]
    assert not [r for r in plan("w1", policy={"nodeport": False, "whitelist": [{"port": 1}]})["rules"]
                if r["match"] == "dnat" and r["ports"]]


def test_a_management_source_in_the_blacklist_is_a_conflict():
    result = plan("cp1", controller_address="198.51.100.250",
                  policy={"management_cidrs": ["198.51.100.0/24"], "blacklist": [{"from": ["198.51.100.7"]}]})
    management = [c for c in result["conflicts"] if c["whitelist"] == ["management_ssh"]]
    assert len(management) == 1 and "keep SSH" in management[0]["text"]
    elsewhere = plan("cp1", controller_address="198.51.100.250",
                     policy={"management_cidrs": ["198.51.100.0/24"], "blacklist": [{"from": ["203.0.113.0/24"]}]})
    assert not [c for c in elsewhere["conflicts"] if c["whitelist"] == ["management_ssh"]]


# 11. families

def test_icmp_from_ipv6_sources_only_is_refused_and_mixed_sources_are_reported():
    with pytest.raises(PlanError, match=r"proto icmp exists in ipv4 only.*use proto icmpv6"):
        plan("cp1", policy={"mode": "host", "whitelist": [{"proto": "icmp", "from": ["v6only"]}]})
    mixed = plan("cp1", policy={"mode": "host", "whitelist": [{"proto": "icmp", "from": ["kube_node"]}]})
    assert any("the ipv6 sources in 'from' are left out" in w for w in mixed["warnings"])


def test_a_family_without_a_management_source_still_has_the_ssh_path():
    result = plan("v6only", policy={"mode": "host", "management_cidrs": ["198.51.100.0/24"]})
    management = [(r["from"], r["families"]) for r in rules(result, "management")]
    assert (["management"], ["ipv4"]) in management and ([], ["ipv6"]) in management
    assert any("no management source in ipv6" in w for w in result["warnings"])
    # a dual-stack management list leaves nothing open to any source
    both = plan("v6only", policy={"mode": "host", "management_cidrs": ["198.51.100.0/24", "2001:db8:ff::/48"]})
    assert [r["from"] for r in rules(both, "management")] == [["management"]]


def test_nodes_outside_the_trusted_cidrs_are_named():
    result = plan("cp1", policy={"mode": "host", "scope": "cidr", "trusted_cidrs": ["192.0.2.0/28"]})
    warning = [w for w in result["warnings"] if "outside microseg_trusted_cidrs" in w]
    assert warning and "w1 (192.0.2.21/32)" in warning[0] and "cp1" not in warning[0]


# 12. a user 'from' on a port the catalog opens to everyone

def test_a_user_entry_on_the_api_server_port_is_said_to_restrict_nothing():
    result = plan("cp1", policy={"whitelist": [{"port": 6443, "from": ["monitoring"]}]})
    assert any("microseg_whitelist[0]" in w and "k8s_apiserver" in w and "microseg_apiserver_from" in w
               for w in result["warnings"])
    nodeports = plan("w1", policy={"whitelist": [{"port": 30080, "from": ["monitoring"]}]})
    assert any("microseg_nodeport: false" in w for w in nodeports["warnings"])


# 14. large sets get room for every entry

def test_a_set_larger_than_ipsets_default_gets_a_larger_maxelem():
    blacklist = ["10.%d.%d.%d" % (i >> 16, (i >> 8) & 255, i & 255) for i in range(0, 140000, 2)]  # 70,000
    result = plan("cp1", policy={"mode": "host", "blacklist": [{"from": blacklist}]})
    text = iptables.ipsets_file(result)
    assert "maxelem 70000" in text
    live = {"mseg-x-v4": {"family": "inet", "maxelem": 65536, "members": ["10.0.0.0/24"]}}
    script, _obsolete, _notes = iptables.set_changes({"mseg-x-v4": ["10.0.0.0/24"] * 1}, live)
    assert script == ""          # a small set in a default-sized ipset is left alone


# 15, 16. set names: content-derived, collision-proof, duplicates folded

# the first pair shared the 8 hex digits of SHA-1 names once; the second shares the first 8 of
# the SHA-256 the names are made from now
@pytest.mark.parametrize("first, second", [("10.0.47.194", "10.0.87.2"), ("10.0.125.143", "10.2.36.233")])
def test_two_source_lists_whose_names_collide_keep_their_own_sets(first, second):
    result = plan("cp1", policy={"mode": "host", "whitelist": [{"port": 8080, "from": [first]},
                                                               {"port": 8081, "from": [second]}]})
    by_port = dict((r["ports"][0], r["from"][0]) for r in rules(result, "whitelist") if r["ports"][0] in ("8080", "8081"))
    assert by_port["8080"] != by_port["8081"]
    assert result["sets"][by_port["8080"]]["ipv4"] == [first + "/32"]
    assert result["sets"][by_port["8081"]]["ipv4"] == [second + "/32"]
    assert all(len("mseg-%s-v4" % name) <= 31 for name in result["sets"])


def test_a_repeated_source_is_one_set_and_one_rule():
    once = plan("cp1", policy={"mode": "host", "whitelist": [{"port": 8080, "from": ["mon"]}]})
    twice = plan("cp1", policy={"mode": "host", "whitelist": [{"port": 8080, "from": ["mon", "mon"]},
                                                              {"port": 8080, "from": ["mon"]}]})
    assert sorted(once["sets"]) == sorted(twice["sets"])
    assert len(rules(once, "whitelist")) == len(rules(twice, "whitelist"))


# 17. IPv6 hosts need MLD and DHCPv6 replies

def test_ipv6_host_mode_admits_mld_and_dhcpv6_client_replies():
    result = plan("v6only", policy={"mode": "host"})
    icmpv6 = [r for r in result["rules"] if r["proto"] == "icmpv6"]
    assert {130, 131, 132, 143} <= set(icmpv6[0]["icmp_types"])
    assert "ip6 saddr fe80::/10 udp sport 547 udp dport 546 counter accept" in "\n".join(nftables.render_rules(result))
    assert "-s fe80::/10 -p udp -m udp --sport 547 --dport 546" in "\n".join(iptables.render_rules(result, "ipv6"))
    assert "--sport 547" not in "\n".join(iptables.render_rules(result, "ipv4"))


# 18. ASCII digits only

@pytest.mark.parametrize("field, value", [("port", "\u0663\u0663"), ("port", "\uff18\uff10"), ("proto", "\u0666")])
def test_digits_of_other_scripts_are_not_numbers(field, value):
    item = {"port": 80, "from": ["mon"]}
    item[field] = value
    with pytest.raises(PlanError, match=r"microseg_whitelist\[0\]\.%s" % field):
        plan("cp1", policy={"mode": "host", "whitelist": [item]})
