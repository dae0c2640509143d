# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The planner: every semantic rule of the product, merging, determinism, every validation error."""
from __future__ import annotations

import copy
import json

import pytest

from ansible_collections.microseg.cluster_firewall.plugins.module_utils import catalog
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.errors import PlanError
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.plan import compile_plan

HOSTS = {
    "cp1": "192.0.2.11", "cp2": "192.0.2.12", "cp3": "192.0.2.13",
    "w1": "192.0.2.21", "w2": "192.0.2.22",
    "s1": "198.51.100.11", "s2": "198.51.100.12",
    "mon": "203.0.113.5", "lonely": None,
}
GROUPS = {
    "kube_control_plane": ["cp1", "cp2", "cp3"],
    "kube_node": ["w1", "w2"],
    "swarm_managers": ["s1"],
    "swarm_workers": ["s2"],
    "monitoring": ["mon"],
    "empty": [],
}


def inventory(hosts=None, groups=None):
    hosts = HOSTS if hosts is None else hosts
    groups = dict(GROUPS if groups is None else groups)
    groups["all"] = sorted(hosts)
    return {
        "hosts": dict((name, {"addresses": [address] if isinstance(address, str) else (address or [])})
                      for name, address in hosts.items()),
        "groups": groups,
    }


def plan(name="cp1", policy=None, inv=None, **node):
    node = dict(node, name=name)
    return compile_plan(node, inv or inventory(), policy or {})


def rules(result, phase):
    return [rule for rule in result["rules"] if rule["phase"] == phase]


def admitted(result):
    """{(proto, ports, from)} of the whitelist rules."""
    return set((rule["proto"], tuple(rule["ports"]), tuple(rule["from"])) for rule in rules(result, "whitelist"))


def covers(result, proto, port, sources):
    """True when a whitelist rule admits proto/port from exactly these source sets."""
    for rule in rules(result, "whitelist"):
        if rule["proto"] != proto or tuple(rule["from"]) != tuple(sources):
            continue
        for text in rule["ports"]:
            low, _sep, high = text.partition("-")
            if int(low) <= port <= int(high or low):
                return True
    return False


def error_of(**kwargs):
    with pytest.raises(PlanError) as error:
        plan(**kwargs)
    return str(error.value)


# ----------------------------------------------------------------- the cluster's own needs

def test_control_plane_flannel_vxlan_host_block_admits_exactly_the_cluster_ports():
    result = plan("cp1", features=["flannel_vxlan"], policy={"mode": "host", "state": "block"})
    assert admitted(result) == {
        ("tcp", ("6443", "30000-32767"), ()),                 # apiserver and NodePorts from all
        ("udp", ("30000-32767",), ()),                        # kube-proxy serves NodePorts here too
        ("tcp", ("2379-2380",), ("control_plane",)),          # etcd: control-plane peers
        ("tcp", ("10250",), ("cluster_nodes", "pod_network", "self")),  # kubelet: nodes, pods (metrics-server)
        ("tcp", ("10257", "10259"), ("self",)),               # scheduler, controller-manager: self
        ("udp", ("8472",), ("cluster_nodes",)),               # flannel vxlan: cluster nodes
    }
    assert result["default"] == "drop"
    assert [(r["proto"], r["ports"]) for r in rules(result, "management")] == [("tcp", ["22"])]
    assert [r["match"] for r in rules(result, "base") if r["match"]] == ["loopback"]
    assert [r["match"] for r in rules(result, "essential") if r["match"]] == ["established", "dnat", "dhcpv6_client"]
    assert rules(result, "blacklist") == [] and rules(result, "guard") == []
    assert result["sets"]["control_plane"]["ipv4"] == ["192.0.2.11/32", "192.0.2.12/31"]
    assert result["sets"]["cluster_nodes"]["ipv4"] == ["192.0.2.11/32", "192.0.2.12/31", "192.0.2.21/32", "192.0.2.22/32"]
    assert result["sets"]["self"]["ipv4"] == ["192.0.2.11/32"]


def test_worker_gets_kubelet_nodeports_and_overlay():
    result = plan("w1", features=["flannel_vxlan"], policy={"mode": "host"})
    assert admitted(result) == {
        ("tcp", ("10250",), ("cluster_nodes", "pod_network", "self")),
        ("tcp", ("30000-32767",), ()),
        ("udp", ("30000-32767",), ()),
        ("udp", ("8472",), ("cluster_nodes",)),
    }


def test_nodeport_can_be_left_out():
    result = plan("w1", policy={"mode": "host", "nodeport": False})
    assert admitted(result) == {("tcp", ("10250",), ("cluster_nodes", "pod_network", "self"))}


def test_swarm_manager_and_worker():
    manager = plan("s1", features=["swarm_encrypted"], policy={"mode": "host"})
    assert admitted(manager) == {
        ("tcp", ("2377", "7946"), ("swarm_nodes",)),
        ("udp", ("4789", "7946"), ("swarm_nodes",)),
        ("esp", (), ("swarm_nodes",)),
    }
    worker = plan("s2", policy={"mode": "host"})
    assert admitted(worker) == {("tcp", ("7946",), ("swarm_nodes",)), ("udp", ("4789", "7946"), ("swarm_nodes",))}
    assert manager["sets"]["swarm_nodes"]["ipv4"] == ["198.51.100.11/32", "198.51.100.12/32"]


# Every catalog row reaches the plan of a node that runs its feature, with the right port.
@pytest.mark.parametrize("entry", [e for e in catalog.ENTRIES if e.proto is not None], ids=lambda e: e.id)
def test_every_catalog_row_becomes_a_rule(entry):
    hosts = dict(HOSTS, cp1=["192.0.2.11", "2001:db8::11"])
    result = plan("cp1", features=[entry.feature], policy={"mode": "host"}, inv=inventory(hosts))
    found = [rule for rule in rules(result, "whitelist") if rule["proto"] == entry.proto
             and any(why["id"] == entry.id for why in rule["why"])]
    assert len(found) == 1, result["rules"]
    rule = found[0]
    if entry.port is not None:
        low = int(str(entry.port).split("-", maxsplit=1)[0])
        assert covers(result, entry.proto, low, rule["from"]), rule
    else:
        assert rule["ports"] == []
    if entry.icmp_type is not None:
        assert rule["icmp_types"] == [entry.icmp_type]
    if entry.families:
        assert rule["families"] == list(entry.families)


@pytest.mark.parametrize("feature", ["flannel_host_gw", "docker_bridge", "docker_host", "docker_macvlan"])
def test_features_that_need_nothing_only_leave_a_note(feature):
    result = plan("lonely", features=[feature], inv=inventory(dict(HOSTS, lonely="192.0.2.99")))
    assert result["passthrough"] is True
    assert [note["id"] for note in result["notes"]] and result["rules"] == []


def test_ipip_is_ipv4_only_and_v6_wireguard_port_is_ipv6_only():
    hosts = dict(HOSTS, cp1=["192.0.2.11", "2001:db8::11"], w1=["192.0.2.21", "2001:db8::21"])
    result = plan("w1", features=["calico_ipip", "calico_wireguard"], policy={"mode": "host"}, inv=inventory(hosts))
    by_proto = dict(((r["proto"], tuple(r["ports"])), r["families"]) for r in rules(result, "whitelist"))
    assert by_proto[("ipip", ())] == ["ipv4"]
    assert by_proto[("udp", ("51820",))] == ["ipv4", "ipv6"]
    assert by_proto[("udp", ("51821",))] == ["ipv6"]
    assert result["sets"]["cluster_nodes"]["ipv6"] == ["2001:db8::11/128", "2001:db8::21/128"]


# ----------------------------------------------------------------- detected and configured ports

def test_real_ports_override_catalog_defaults_and_say_where_they_came_from():
    result = plan("cp1", features=["flannel_vxlan"], policy={"mode": "host"},
                  ports={"apiserver": 8443, "etcd_client": 12379, "flannel_vxlan": "4789", "scheduler": 20259},
                  port_origins={"apiserver": "/etc/kubernetes/manifests/kube-apiserver.yaml --secure-port"})
    assert ("tcp", ("8443", "30000-32767"), ()) in admitted(result)
    assert ("udp", ("4789",), ("cluster_nodes",)) in admitted(result)
    assert ("tcp", ("2380", "12379"), ("control_plane",)) in admitted(result)
    assert ("tcp", ("10257", "20259"), ("self",)) in admitted(result)
    why = [w for r in result["rules"] for w in r["why"] if w["id"] == "k8s_apiserver"][0]
    assert why["port"] == "8443 (/etc/kubernetes/manifests/kube-apiserver.yaml --secure-port)"
    why = [w for r in result["rules"] for w in r["why"] if w["id"] == "etcd_peer"][0]
    assert why["port"] == "2380 (catalog default)"


def test_custom_nodeport_range_and_swarm_data_path_port():
    worker = plan("w1", policy={"mode": "host"}, ports={"nodeport_range": "31000-31999"})
    assert ("tcp", ("31000-31999",), ()) in admitted(worker)
    assert ("udp", ("31000-31999",), ()) in admitted(worker)
    swarm = plan("s2", policy={"mode": "host"}, ports={"swarm_data_path": 4800})
    assert ("udp", ("4800", "7946"), ("swarm_nodes",)) in admitted(swarm)


def test_ssh_port_of_the_connection_is_the_management_port():
    result = plan("cp1", ssh_port="2222")
    assert rules(result, "management")[0]["ports"] == ["2222"]
    assert rules(result, "management")[0]["why"][0]["port"] == "2222 (connection port)"
    overridden = rules(plan("cp1", ports={"ssh": 2200}), "management")[0]
    assert overridden["ports"] == ["2200"] and overridden["why"][0]["port"] == "2200 (microseg_ports)"
    assert rules(plan("cp1"), "management")[0]["why"][0]["port"] == "22 (default)"


# ----------------------------------------------------------------- the product's semantics

def test_no_rule_configured_means_everything_passes():
    result = plan("mon")
    assert result["passthrough"] is True
    assert result["rules"] == [] and result["default"] == "return" and result["sets"] == {}
    for state in ("monitor", "alert", "block"):
        for mode in ("service", "host"):
            assert plan("mon", policy={"state": state, "mode": mode})["passthrough"] is True


def test_a_user_rule_alone_is_a_configured_rule():
    result = plan("mon", policy={"mode": "host", "whitelist": [{"port": 9090}]})
    assert result["passthrough"] is False and result["default"] == "drop"


@pytest.mark.parametrize("state, action", [("monitor", "monitor"), ("alert", "alert"), ("block", "drop")])
def test_the_state_decides_what_the_whitelist_does_not_admit_and_the_blacklist_always_drops(state, action):
    policy = {"mode": "host", "state": state, "blacklist": [{"from": ["198.51.100.200"]}]}
    result = plan("cp1", policy=policy)
    assert result["default"] == action
    assert [rule["action"] for rule in rules(result, "blacklist")] == ["drop"]


@pytest.mark.parametrize("state, action", [("monitor", "count"), ("alert", "log"), ("block", "drop")])
def test_the_blacklist_has_a_state_of_its_own_that_watches_and_goes_on(state, action):
    policy = {"mode": "host", "state": "block", "blacklist_state": state, "blacklist": [{"from": ["198.51.100.200"]}]}
    result = plan("cp1", policy=policy)
    assert [rule["action"] for rule in rules(result, "blacklist")] == [action]
    assert result["default"] == "drop"


@pytest.mark.parametrize("state", ["monitor", "alert"])
@pytest.mark.parametrize("mode", ["host", "service"])
def test_only_block_drops_what_the_whitelist_does_not_admit(state, mode):
    policy = {"mode": mode, "state": state, "blacklist_state": state, "blacklist": [{"from": ["198.51.100.200"]}],
              "whitelist": [{"port": 8080, "from": ["monitoring"]}]}
    result = plan("w1", features=["flannel_vxlan"], policy=policy)
    assert "drop" not in [rule["action"] for rule in result["rules"]] + [result["default"]]


def test_the_blacklist_comes_after_loopback_and_management_and_before_everything_else():
    policy = {"mode": "host", "blacklist": [{"port": 6443, "from": ["198.51.100.0/24"]}]}
    result = plan("cp1", policy=policy)
    phases = [rule["phase"] for rule in result["rules"]]
    assert phases.index("management") < phases.index("blacklist") < phases.index("essential") < phases.index("whitelist")
    assert phases == sorted(phases, key=["base", "management", "blacklist", "essential", "whitelist", "guard"].index)
    # established connections and DNAT'ed traffic come after it: the blacklist is final for them too
    first_black = phases.index("blacklist")
    assert [r["match"] for r in result["rules"][first_black + 1:first_black + 3]] == ["established", "dnat"]


def test_blacklist_wins_conflicts_are_reported_with_both_entries():
    policy = {"mode": "host", "whitelist": [{"port": 8080, "from": ["10.1.0.0/16"], "comment": "app"}],
              "blacklist": [{"from": ["10.1.2.0/24"]}, {"port": 9999, "from": ["10.1.0.0/16"]}]}
    result = plan("mon", policy=policy)
    assert [(c["blacklist"], c["whitelist"]) for c in result["conflicts"]] == [
        (["microseg_blacklist[0]"], ["microseg_whitelist[0]"]), (["microseg_blacklist[0]"], ["management_ssh"])]
    assert "the blacklist wins" in result["conflicts"][0]["text"]
    # no management source known: SSH is admitted from any source, ahead of the blacklist - said so
    assert "the management path comes first" in result["conflicts"][1]["text"]


def test_blacklist_that_covers_cluster_nodes_is_reported_against_the_catalog_row():
    result = plan("cp1", features=["flannel_vxlan"], policy={"blacklist": [{"from": ["192.0.2.0/24"], "proto": "udp"}]})
    assert (["microseg_blacklist[0]"], ["flannel_vxlan"]) in [(c["blacklist"], c["whitelist"]) for c in result["conflicts"]]
    assert not any("k8s_apiserver" in c["whitelist"] for c in result["conflicts"])  # tcp vs udp: no overlap


def test_host_mode_intercepts_everything_not_admitted():
    result = plan("cp1", policy={"mode": "host", "state": "alert"})
    assert result["default"] == "alert"
    assert rules(result, "guard") == []


def test_service_mode_guards_only_ports_with_entries():
    policy = {"mode": "service", "state": "block", "whitelist": [{"port": 5432, "from": ["monitoring"]}]}
    result = plan("cp1", features=["flannel_vxlan", "swarm_encrypted"], policy=policy)
    assert result["default"] == "return"
    guards = dict((rule["proto"], rule) for rule in rules(result, "guard"))
    assert guards["tcp"]["ports"] == ["2379-2380", "5432", "6443", "10250", "10257", "10259", "30000-32767"]
    assert guards["tcp"]["action"] == "drop" and guards["tcp"]["from"] == []
    assert guards["udp"]["ports"] == ["8472", "30000-32767"]
    assert guards["esp"]["ports"] == []           # a portless protocol is guarded as a whole
    # The guard comes after every admit: admitted sources pass, the rest get the state's action.
    phases = [rule["phase"] for rule in result["rules"]]
    assert phases.index("guard") > max(i for i, p in enumerate(phases) if p == "whitelist")


def test_service_mode_guard_takes_the_state_action():
    result = plan("cp1", policy={"mode": "service", "state": "monitor"})
    assert set(rule["action"] for rule in rules(result, "guard")) == {"monitor"}


def test_empty_whitelist_intercepts_nothing_even_in_host_mode():
    result = plan("mon", policy={"mode": "host", "blacklist": [{"from": ["198.51.100.200"]}]})
    assert result["passthrough"] is False and result["default"] == "return"


def test_scope_node_ip_cidr_and_port():
    node_ip = plan("w1", features=["flannel_vxlan"], policy={"mode": "host", "scope": "node_ip"})
    assert ("udp", ("8472",), ("cluster_nodes",)) in admitted(node_ip)

    cidr = plan("w1", features=["flannel_vxlan"],
                policy={"mode": "host", "scope": "cidr", "trusted_cidrs": ["192.0.2.0/24", "192.0.2.0/25"]})
    assert ("udp", ("8472",), ("trusted",)) in admitted(cidr)
    assert ("tcp", ("10250",), ("pod_network", "self", "trusted")) in admitted(cidr)
    assert cidr["sets"]["trusted"]["ipv4"] == ["192.0.2.0/24"]
    assert "cluster_nodes" not in cidr["sets"]

    port = plan("w1", features=["flannel_vxlan"], policy={"mode": "host", "scope": "port"})
    assert covers(port, "udp", 8472, ())
    assert covers(port, "tcp", 10250, ())
    assert port["sets"] == {}
    # self-only flows stay self whatever the scope
    assert ("tcp", ("10257", "10259"), ("self",)) in admitted(plan("cp1", policy={"scope": "port"}))


def test_pods_reach_the_api_server_when_it_is_restricted():
    result = plan("cp1", pod_cidrs=["10.244.0.0/16"],
                  policy={"mode": "host", "apiserver_from": ["198.51.100.0/24", "monitoring"]})
    rule = [r for r in rules(result, "whitelist") if r["ports"] == ["6443"]][0]
    assert set(rule["from"]) == {"apiserver_clients", "cluster_nodes", "pod_network", "self"}
    assert result["sets"]["pod_network"]["ipv4"] == ["10.244.0.0/16"]
    assert result["sets"]["apiserver_clients"]["ipv4"] == ["198.51.100.0/24", "203.0.113.5/32"]
    unknown = plan("cp1", policy={"apiserver_from": ["198.51.100.0/24"]})
    assert any("pod network unknown" in warning for warning in unknown["warnings"])
    assert ("tcp", ("6443", "30000-32767"), ()) in admitted(plan("cp1", pod_cidrs=["10.244.0.0/16"]))


def test_management_access_comes_first_from_the_controller_and_admin_cidrs():
    result = plan("cp1", controller_address="198.51.100.250", policy={"management_cidrs": ["203.0.113.0/28"]})
    rule = rules(result, "management")[0]
    assert rule["from"] == ["management"] and rule["action"] == "accept"
    assert result["sets"]["management"]["ipv4"] == ["198.51.100.250/32", "203.0.113.0/28"]
    anyone = plan("cp1")
    assert rules(anyone, "management")[0]["from"] == []
    assert any("SSH port 22 is admitted from any source" in w for w in anyone["warnings"])


def test_management_access_can_only_be_left_out_by_an_explicit_opt_out():
    opted_out = plan("cp1", controller_address="198.51.100.250", policy={"management_access": False})
    assert rules(opted_out, "management") == []
    assert any("microseg_management_access is false" in w and "commit-confirm" in w for w in opted_out["warnings"])
    # a blacklist cannot cut it: management comes before the blacklist
    blocked = plan("cp1", controller_address="198.51.100.250", policy={"blacklist": [{"from": ["198.51.100.250"]}]})
    phases = [rule["phase"] for rule in blocked["rules"]]
    assert phases.index("management") < phases.index("blacklist")
    with pytest.raises(PlanError, match="microseg_management_access: 'no' must be true or false"):
        plan("cp1", policy={"management_access": "no"})


def test_base_rules_come_first_in_a_fixed_order():
    result = plan("cp1")
    first = [(rule["match"] or rule["proto"]) for rule in result["rules"][:7]]
    assert first == ["loopback", "icmp", "icmpv6", "tcp", "established", "dnat", "dhcpv6_client"]
    assert "dnat" not in [r["match"] for r in plan("mon", policy={"whitelist": [{"port": 1}]})["rules"]]


# ----------------------------------------------------------------- user rules

def test_user_rules_resolve_groups_hosts_and_cidrs():
    policy = {"mode": "host", "whitelist": [{"port": 9100, "from": ["monitoring", "w1", "198.51.100.0/24"]}]}
    result = plan("cp1", policy=policy)
    rule = [r for r in rules(result, "whitelist") if r["ports"] == ["9100"]][0]
    assert result["sets"][rule["from"][0]]["ipv4"] == ["192.0.2.21/32", "198.51.100.0/24", "203.0.113.5/32"]


def test_user_rules_merge_ports_and_remove_duplicates():
    policy = {"mode": "host", "whitelist": [
        {"port": 8080, "from": ["monitoring"]}, {"port": "8081-8090", "from": ["monitoring"]},
        {"port": 8080, "from": ["monitoring"]}, {"port": 6444}]}
    result = plan("cp1", policy=policy)
    merged = [r for r in rules(result, "whitelist") if r["ports"] == ["8080-8090"]]
    assert len(merged) == 1 and result["sets"][merged[0]["from"][0]]["ipv4"] == ["203.0.113.5/32"]
    assert [w["id"] for w in merged[0]["why"]] == ["microseg_whitelist[0]", "microseg_whitelist[1]", "microseg_whitelist[2]"]
    assert ("tcp", ("6443-6444", "30000-32767"), ()) in admitted(result)    # merged with the apiserver rule


def test_host_mode_may_trust_a_source_on_every_port():
    result = plan("mon", policy={"mode": "host", "whitelist": [{"from": ["198.51.100.7"]}]})
    assert admitted(result) == {("all", (), (rules(result, "whitelist")[0]["from"][0],))}


def test_portless_protocol_from_anywhere_is_allowed():
    result = plan("mon", policy={"mode": "host", "whitelist": [{"proto": "esp"}, {"proto": 47}]})
    assert {("esp", (), ()), ("gre", (), ())} == admitted(result)


def test_unknown_protocol_number_is_kept_as_a_number():
    result = plan("mon", policy={"mode": "host", "whitelist": [{"proto": 253, "from": ["mon"]}]})
    assert rules(result, "whitelist")[0]["proto"] == "253"


def test_empty_groups_and_empty_peer_sets_warn():
    result = plan("mon", policy={"whitelist": [{"port": 80, "from": ["empty"]}]})
    assert any("group empty has no host" in w for w in result["warnings"])
    assert any("admits nobody" in w for w in result["warnings"])
    assert rules(result, "whitelist")[0]["families"] == []
    lonely = plan("s2", features=["docker_tls"], inv=inventory(hosts={"s2": "198.51.100.12"},
                                                               groups={"swarm_workers": ["s2"]}),
                  policy={"mode": "host"})
    assert any("set swarm_managers is empty" in w for w in lonely["warnings"])


# ----------------------------------------------------------------- roles from the inventory

def test_stacked_etcd_unless_an_etcd_group_exists():
    assert "etcd" in plan("cp1")["roles"]
    groups = dict(GROUPS, etcd=["w2"])
    inv = inventory(groups=groups)
    assert "etcd" not in plan("cp1", inv=inv)["roles"]
    etcd_node = plan("w2", inv=inv, policy={"mode": "host"})
    assert ("tcp", ("2379-2380",), ("control_plane",)) in admitted(etcd_node)
    assert etcd_node["sets"]["control_plane"]["ipv4"] == ["192.0.2.11/32", "192.0.2.12/31", "192.0.2.22/32"]


def test_roles_given_on_a_host_replace_its_groups():
    inv = inventory()
    inv["hosts"]["mon"]["roles"] = ["kube_node"]
    result = plan("mon", inv=inv, policy={"mode": "host"})
    assert result["roles"] == ["kube_node"]
    assert "203.0.113.5/32" in plan("cp1", inv=inv, features=["flannel_vxlan"])["sets"]["cluster_nodes"]["ipv4"]


# ----------------------------------------------------------------- determinism

def test_same_input_gives_a_byte_identical_plan():
    policy = {"mode": "host", "whitelist": [{"port": [443, 80], "from": ["monitoring", "10.0.0.0/8"]}],
              "blacklist": [{"from": ["198.51.100.200"]}]}
    first = json.dumps(plan("w1", features=["flannel_vxlan"], policy=copy.deepcopy(policy)), sort_keys=True)
    second = json.dumps(plan("w1", features=["flannel_vxlan"], policy=copy.deepcopy(policy)), sort_keys=True)
    assert first == second


def test_plan_does_not_depend_on_inventory_order_or_feature_order():
    inv = inventory()
    reordered = {"hosts": dict(reversed(list(inv["hosts"].items()))), "groups": inv["groups"]}
    a = plan("w1", features=["flannel_vxlan", "kube_proxy_healthz"], policy={"mode": "host"}, inv=inv)
    b = plan("w1", features=["kube_proxy_healthz", "flannel_vxlan"], policy={"mode": "host"}, inv=reordered)
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def test_the_plan_is_json_serialisable_and_does_not_touch_its_input():
    policy = {"whitelist": [{"port": 80, "from": ["monitoring"]}]}
    frozen = copy.deepcopy(policy)
    json.dumps(plan("w1", policy=policy))
    assert policy == frozen


# ----------------------------------------------------------------- bad input: clear errors

@pytest.mark.parametrize("kwargs, fragments", [
    ({"policy": {"state": "blocking"}}, ["microseg_state", "'blocking'", "monitor, alert, block"]),
    ({"policy": {"mode": "strict"}}, ["microseg_mode", "'strict'", "service, host"]),
    ({"policy": {"scope": "any"}}, ["microseg_scope", "'any'", "node_ip, cidr, port"]),
    ({"policy": {"sate": "block"}}, ["unknown policy setting", "microseg_sate", "microseg_state"]),
    ({"policy": {"scope": "cidr"}}, ["microseg_scope", "microseg_trusted_cidrs"]),
    ({"policy": {"trusted_cidrs": ["10.0.0.0/33"]}}, ["microseg_trusted_cidrs[0]", "'10.0.0.0/33'", "CIDR"]),
    ({"policy": {"management_cidrs": ["10.0.0.5/8"]}}, ["microseg_management_cidrs[0]", "host bits"]),
    ({"policy": {"nodeport": "yes"}}, ["microseg_nodeport", "'yes'", "true or false"]),
    ({"policy": {"whitelist": [{"port": 70000}]}}, ["microseg_whitelist[0].port", "70000", "1-65535"]),
    ({"policy": {"whitelist": [{"port": 0}]}}, ["microseg_whitelist[0].port", "port 0", "1-65535"]),
    ({"policy": {"whitelist": [{"port": "abc"}]}}, ["microseg_whitelist[0].port", "'abc'", "1-65535"]),
    ({"policy": {"whitelist": [{"port": "200-100"}]}}, ["microseg_whitelist[0].port", "reversed"]),
    ({"policy": {"whitelist": [{"port": 80, "proto": "tcpp"}]}}, ["microseg_whitelist[0].proto", "'tcpp'", "tcp, udp"]),
    ({"policy": {"whitelist": [{"proto": 300, "from": ["mon"]}]}}, ["microseg_whitelist[0].proto", "300", "1-254"]),
    ({"policy": {"whitelist": [{"port": 80, "proto": "esp"}]}}, ["microseg_whitelist[0].port", "esp has no ports"]),
    ({"policy": {"whitelist": [{"port": 80, "from": ["kube_nodes"]}]}},
     ["microseg_whitelist[0].from[0]", "'kube_nodes'", "groups:", "kube_node"]),
    ({"policy": {"whitelist": [{"port": 80, "from": ["10.0.0.0/33"]}]}},
     ["microseg_whitelist[0].from[0]", "'10.0.0.0/33'", "not a valid address or CIDR"]),
    ({"policy": {"whitelist": [{"port": 80, "from": [7]}]}}, ["microseg_whitelist[0].from[0]", "7"]),
    ({"policy": {"whitelist": ["port 80"]}}, ["microseg_whitelist[0]", "must be a dict"]),
    ({"policy": {"whitelist": [{"ports": 80}]}}, ["microseg_whitelist[0]", "unknown key(s) ports", "port, proto, from, comment"]),
    ({"policy": {"whitelist": [{"port": 80, "comment": 5}]}}, ["microseg_whitelist[0].comment"]),
    ({"policy": {"mode": "host", "whitelist": [{"proto": "udp"}]}},
     ["microseg_whitelist[0]", "no port and no 'from'", "all udp traffic"]),
    ({"policy": {"mode": "host", "whitelist": [{}]}}, ["microseg_whitelist[0]", "all all traffic"]),
    ({"policy": {"mode": "service", "whitelist": [{"from": ["mon"]}]}},
     ["microseg_whitelist[0]", "service mode guards ports", "microseg_mode: host"]),
    ({"policy": {"blacklist": [{"proto": "tcp"}]}}, ["microseg_blacklist[0]", "no port and no 'from'"]),
    ({"policy": {"blacklist": [{"port": 22, "from": ["nowhere"]}]}}, ["microseg_blacklist[0].from[0]", "'nowhere'"]),
    ({"policy": {"apiserver_from": ["nowhere"]}}, ["microseg_apiserver_from[0]", "'nowhere'"]),
    ({"features": ["flannel-vxlan"]}, ["feature", "'flannel-vxlan'", "flannel_vxlan"]),
    ({"ports": {"apiserver_port": 6443}}, ["port setting", "'apiserver_port'", "apiserver"]),
    ({"ports": {"apiserver": 70000}}, ["port setting apiserver", "70000", "1-65535"]),
    ({"ssh_port": 70000}, ["ssh_port", "70000"]),
    ({"controller_address": "not-an-ip"}, ["controller_address", "'not-an-ip'"]),
    ({"pod_cidrs": ["10.244.0.0/33"]}, ["pod_cidrs[0]", "'10.244.0.0/33'"]),
    ({"name": "ghost"}, ["node ghost is not in the inventory"]),
    ({"colour": "red"}, ["unknown key(s) colour"]),
])
def test_bad_input_is_rejected_naming_the_value_and_what_is_allowed(kwargs, fragments):
    message = error_of(**kwargs)
    for fragment in fragments:
        assert fragment in message, message


@pytest.mark.parametrize("hosts_entry, fragments", [
    ({"roles": ["master"]}, ["inventory host cp1", "'master'", "kube_control_plane"]),
    ({"addresses": ["10.0.0.0/24"]}, ["inventory host cp1", "is a network"]),
    ({"addresses": ["not-an-ip"]}, ["inventory host cp1 address[0]", "'not-an-ip'"]),
])
def test_bad_inventory_is_rejected(hosts_entry, fragments):
    inv = inventory()
    inv["hosts"]["cp1"] = dict({"addresses": ["192.0.2.11"]}, **hosts_entry)
    message = error_of(inv=inv)
    for fragment in fragments:
        assert fragment in message, message


def test_bad_inventory_shape():
    with pytest.raises(PlanError, match="must be a dict"):
        compile_plan({"name": "x"}, ["x"], {})
    with pytest.raises(PlanError, match="must be a dict with at least 'name'"):
        compile_plan({}, inventory(), {})


# ----------------------------------------------------------------- cluster-wide settings

def test_the_nodeport_range_read_on_a_control_plane_reaches_the_workers():
    inv = inventory()
    inv["hosts"]["cp2"]["cluster_ports"] = {"nodeport_range": "31000-31999"}
    inv["hosts"]["cp2"]["cluster_port_origins"] = {"nodeport_range": "kube-apiserver.yaml --service-node-port-range"}
    worker = plan("w1", inv=inv, policy={"mode": "host"})
    assert covers(worker, "tcp", 31000, ()) and not covers(worker, "tcp", 30000, ())
    why = [w for r in worker["rules"] for w in r["why"] if w["id"] == "k8s_nodeport_tcp"][0]
    assert why["port"] == "31000-31999 (detected on cp2 (kube-apiserver.yaml --service-node-port-range))"
    # the node's own value wins
    own = plan("w1", inv=inv, policy={"mode": "host"}, ports={"nodeport_range": "32000-32100"})
    assert covers(own, "tcp", 32000, ()) and not covers(own, "tcp", 31000, ())


def test_different_cluster_wide_values_are_reported():
    inv = inventory()
    inv["hosts"]["cp1"]["cluster_ports"] = {"nodeport_range": "31000-31999"}
    inv["hosts"]["cp2"]["cluster_ports"] = {"nodeport_range": "32000-32100"}
    worker = plan("w1", inv=inv)
    assert covers(worker, "tcp", 31000, ())
    assert any("nodeport_range differs between hosts" in w for w in worker["warnings"])
    inv["hosts"]["cp1"]["cluster_ports"] = {"apiserver": 1}
    assert "cluster-wide port setting" in error_of(inv=inv)


def test_the_swarm_data_path_port_read_on_a_manager_reaches_the_workers():
    inv = inventory()
    inv["hosts"]["s1"]["cluster_ports"] = {"swarm_data_path": 4800}
    worker = plan("s2", inv=inv, policy={"mode": "host"})
    assert covers(worker, "udp", 4800, ("swarm_nodes",)) and not covers(worker, "udp", 4789, ("swarm_nodes",))
