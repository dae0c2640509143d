# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/plan.yml, offline, on the inventories the common installers leave (kubespray, its
older group names, k3s-ansible, rke2-ansible) and on custom group names: roles and peer
addresses are right with no extra variable, and what cannot be known is said."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
INVENTORIES = Path(__file__).resolve().parent / "inventories"
POLICY = '{"microseg_mode": "host", "microseg_state": "block"}'


def plan(inventory, tmp_path, *extra):
    """(stdout, {node: plan}) of plan.yml on this inventory."""
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    binary = str(Path(sys.executable).parent / "ansible-playbook")
    proc = subprocess.run([binary, "-i", str(INVENTORIES / inventory), str(ROOT / "playbooks" / "plan.yml"),
                           "-e", POLICY, "-e", "microseg_plan_dir=%s" % tmp_path] + list(extra),
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return proc.stdout, dict((path.stem, json.loads(path.read_text())) for path in tmp_path.glob("*.json"))


def addresses(result, set_name):
    return result["sets"].get(set_name, {}).get("ipv4", [])


def admits(result, proto, port):
    def covers(text):
        low, _sep, high = text.partition("-")
        return int(low) <= port <= int(high or low)
    return [rule["from"] for rule in result["rules"] if rule["phase"] == "whitelist" and rule["proto"] == proto
            and any(covers(text) for text in rule["ports"])]


def test_kubespray_roles_and_the_cluster_network_addresses_not_the_public_ones(tmp_path):
    _out, plans = plan("kubespray.ini", tmp_path)
    assert plans["node1"]["roles"] == ["etcd", "kube_control_plane"]
    assert plans["node3"]["roles"] == ["etcd", "kube_node"]
    assert plans["node4"]["roles"] == ["kube_node"]
    assert plans["node1"]["addresses"] == ["10.3.0.1"] and plans["node1"]["address_origin"] == "ip"
    assert plans["node5"]["addresses"] == ["10.3.0.5", "198.51.100.5"]
    assert plans["node5"]["address_origin"] == "ip and access_ip"
    text = json.dumps(plans)
    assert "203.0.113." not in text                       # the connection addresses are never peers
    # etcd and control planes by their cluster addresses: node1 (10.3.0.1), node2 and node3 (10.3.0.2/31)
    assert addresses(plans["node1"], "control_plane") == ["10.3.0.1/32", "10.3.0.2/31"]
    assert admits(plans["node1"], "tcp", 2379) == [["control_plane"]]
    assert not [line for line in plans["node4"]["warnings"] if "no cluster role" in line]


def test_kubespray_pods_and_services_reach_the_node_from_its_variables(tmp_path):
    """kubespray's defaults: kube-proxy in IPVS mode and NodeLocal DNSCache; the networks as the
    user set them in group_vars (kube_pods_subnet, kube_service_addresses, nodelocaldns_ip)."""
    out, plans = plan("kubespray.ini", tmp_path)
    worker = plans["node4"]
    assert {"kube_proxy_ipvs", "nodelocal_dns"} <= set(worker["features"])
    assert addresses(worker, "pod_network") == ["10.200.0.0/17"]
    assert addresses(worker, "service_network") == ["10.96.64.0/18"]
    assert addresses(worker, "nodelocal_dns") == ["169.254.20.10/32"]
    assert worker["networks"]["pod_cidrs"]["origin"].startswith("kubespray's ")
    # metrics-server in a pod on any node reaches every kubelet
    assert admits(worker, "tcp", 10250) == [["cluster_nodes", "pod_network", "self"]]
    to = dict((rule["why"][0]["id"], (rule["proto"], rule["ports"], rule["from"], rule["to"]))
              for rule in worker["rules"] if rule["to"])
    assert to["k8s_service_ipvs"] == ("all", [], ["cluster_nodes", "pod_network"], ["service_network"])
    assert to["nodelocal_dns_tcp"] == ("tcp", ["53"], ["pod_network"], ["nodelocal_dns"])
    assert to["nodelocal_dns_udp"] == ("udp", ["53"], ["pod_network"], ["nodelocal_dns"])
    # control planes serve NodePorts too (kube-proxy runs there)
    assert admits(plans["node1"], "tcp", 30000) == [[]]
    assert "pod network: 10.200.0.0/17 (from kubespray's" in out
    # the networks are known; what only the node can show (kube-ipvs0's addresses) and what the
    # inventory does not name (the CNI) is said to be unknown, not guessed
    unknown = [line for line in worker["warnings"] if "unknown" in line]
    assert [line for line in unknown if line.startswith("the addresses on kube-ipvs0")], worker["warnings"]
    assert not [line for line in unknown if "network" in line], unknown
    assert [line for line in worker["warnings"] if line.startswith("no CNI known for this node")]


def test_older_kubespray_group_names(tmp_path):
    _out, plans = plan("kubespray-old.ini", tmp_path)
    assert plans["node1"]["roles"] == ["etcd", "kube_control_plane"]
    assert plans["node2"]["roles"] == plans["node3"]["roles"] == ["kube_node"]
    assert plans["node2"]["addresses"] == ["10.5.0.2"]


def test_k3s_ansible_servers_and_agents_named_by_address(tmp_path):
    _out, plans = plan("k3s-ansible.yml", tmp_path)
    assert plans["192.0.2.11"]["roles"] == ["etcd", "kube_control_plane"]
    assert plans["192.0.2.12"]["roles"] == plans["192.0.2.13"]["roles"] == ["kube_node"]
    assert plans["192.0.2.12"]["address_origin"] == "inventory_hostname"
    assert admits(plans["192.0.2.12"], "tcp", 10250) == [["cluster_nodes", "pod_network", "self"]]
    # no --cluster-cidr in k3s-ansible's variables: k3s's own defaults (k3s-ansible's prereq role
    # assumes them too), said to be the defaults, on every node (the server's are the cluster's)
    for node in ("192.0.2.11", "192.0.2.12"):
        assert addresses(plans[node], "pod_network") == ["10.42.0.0/16"]
        assert plans[node]["networks"]["service_cidrs"]["cidrs"] == ["10.43.0.0/16"]
        assert plans[node]["networks"]["pod_cidrs"]["origin"].startswith("k3s's default cluster-cidr")
    assert not plans["192.0.2.11"]["passthrough"]


def test_rke2_ansible_servers_and_agents(tmp_path):
    _out, plans = plan("rke2-ansible.yml", tmp_path)
    assert plans["server0"]["roles"] == ["etcd", "kube_control_plane"]
    assert plans["agent0"]["roles"] == ["kube_node"]
    # agents register with the servers' supervisor port (RKE2's own, besides the API server)
    assert "rke2_supervisor" in plans["server0"]["features"] and "rke2_supervisor" not in plans["agent0"]["features"]
    assert admits(plans["server0"], "tcp", 9345) == [["cluster_nodes"]]


def test_custom_groups_need_the_map_and_a_host_in_no_cluster_group_is_named(tmp_path):
    out, plans = plan("custom-groups.yml", tmp_path)
    assert plans["m1"]["roles"] == plans["w1"]["roles"] == []
    # `server` means k3s only inside k3s_cluster: this web server is no control plane
    assert plans["web1"]["roles"] == []
    warning = [line for line in plans["m1"]["warnings"] if "no cluster role" in line]
    assert warning and "m1 has no cluster role" in warning[0] and "microseg_group_map" in warning[0], plans["m1"]
    assert "m1 has no cluster role" in out

    mapped_dir = tmp_path / "mapped"
    mapped_dir.mkdir()
    _out, plans = plan("custom-groups.yml", mapped_dir,
                       "-e", '{"microseg_group_map": {"masters": "kube_control_plane", "workers": ["kube_node"]}}')
    assert plans["m1"]["roles"] == ["etcd", "kube_control_plane"] and plans["w1"]["roles"] == ["kube_node"]
    assert plans["web1"]["roles"] == []
    assert "192.0.2.41/32" in addresses(plans["w1"], "cluster_nodes")


@pytest.mark.parametrize("group_map, named", [
    ('{"microseg_group_map": {"masters": "control-plane"}}', "'control-plane' is not a cluster role"),
    ('{"microseg_group_map": ["masters"]}', "microseg_group_map"),
])
def test_a_bad_group_map_is_refused_naming_the_value(tmp_path, group_map, named):
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    binary = str(Path(sys.executable).parent / "ansible-playbook")
    proc = subprocess.run([binary, "-i", str(INVENTORIES / "custom-groups.yml"), str(ROOT / "playbooks" / "plan.yml"),
                           "-e", POLICY, "-e", group_map], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode != 0 and named in proc.stdout, proc.stdout[-3000:]


def test_an_inventory_of_hostnames_is_shown_for_review_with_what_to_add(tmp_path):
    """rke2-ansible's sample as shipped names hosts by DNS name: no peer has a known address.
    plan.yml (and audit.yml, the same report tasks) shows each plan with the warning and the fix;
    applying in state block still refuses (issue 34, item 12)."""
    out, plans = plan("rke2-ansible-basic/hosts.yml", tmp_path)
    server = plans["server0.example.com"]
    assert server["roles"] == ["etcd", "kube_control_plane"] and server["addresses"] == []
    refusal = server["warnings"][0]
    assert refusal.startswith("shown for review only: site.yml refuses to apply this plan: ")
    assert "agent0.example.com" in refusal and "microseg_node_addresses" in refusal
    assert "microseg_allow_missing_peers" in refusal
    assert admits(server, "tcp", 9345) == [["cluster_nodes"]]        # the rule is there; its set is empty
    assert "shown for review only" in out and "server0.example.com" in plans["agent0.example.com"]["warnings"][0]


def test_applying_an_inventory_of_hostnames_in_block_is_still_refused(tmp_path):
    """The role's plan as site.yml runs it (not for review): each node stops with the refusal."""
    playbook = tmp_path / "apply.yml"
    playbook.write_text("- hosts: all\n  gather_facts: false\n  roles: [microseg.cluster_firewall.whitelist]\n")
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    binary = str(Path(sys.executable).parent / "ansible-playbook")
    proc = subprocess.run([binary, "-i", str(INVENTORIES / "rke2-ansible-basic" / "hosts.yml"), str(playbook),
                           "--tags", "plan", "-e", POLICY], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode != 0, proc.stdout[-3000:]
    assert "state block would cut what the plan admits them" in proc.stdout, proc.stdout[-3000:]
    assert "shown for review only" not in proc.stdout


def test_techno_tim_k3s_ansible_masters_and_nodes(tmp_path):
    """techno-tim/k3s-ansible's sample as shipped: `master` and `node` inside k3s_cluster (issue 35, item 7)."""
    _out, plans = plan("techno-tim-k3s-ansible/hosts.ini", tmp_path)
    assert sorted(plans) == ["192.168.30.%d" % last for last in range(38, 43)]
    for master in ("192.168.30.38", "192.168.30.39", "192.168.30.40"):
        assert plans[master]["roles"] == ["etcd", "kube_control_plane"]
    assert plans["192.168.30.41"]["roles"] == plans["192.168.30.42"]["roles"] == ["kube_node"]
    assert addresses(plans["192.168.30.38"], "control_plane") == ["192.168.30.38/31", "192.168.30.40/32"]
    assert admits(plans["192.168.30.38"], "tcp", 2379) == [["control_plane"]]
    assert not [line for line in plans["192.168.30.41"]["warnings"] if "no cluster role" in line]


def test_kubesprays_sample_as_shipped_loads_its_k8s_cluster_group_vars(tmp_path):
    """kubespray's current sample has no k8s_cluster group (kubespray makes it at run time, from
    kube_control_plane, kube_node and calico_rr): its group_vars/k8s_cluster/ must load all the
    same: kube-proxy in IPVS mode, NodeLocal DNSCache, the pod and Service networks (issue 35, item 5)."""
    out, plans = plan("kubespray-sample/inventory.ini", tmp_path)
    assert sorted(plans) == ["node%d" % index for index in range(1, 7)]
    assert plans["node1"]["roles"] == ["etcd", "kube_control_plane"] and plans["node4"]["roles"] == ["kube_node"]
    worker = plans["node4"]
    assert {"kube_proxy_ipvs", "nodelocal_dns"} <= set(worker["features"])
    assert addresses(worker, "nodelocal_dns") == ["169.254.25.10/32"]
    assert addresses(worker, "pod_network") == ["10.233.64.0/18"]
    assert addresses(worker, "service_network") == ["10.233.0.0/18"]
    assert addresses(worker, "cluster_nodes") == ["10.3.0.1/32", "10.3.0.2/31", "10.3.0.4/31", "10.3.0.6/32"]
    assert "pod network: 10.233.64.0/18 (from kubespray's" in out


@pytest.mark.parametrize("inventory, node, cni_rows", [
    # kubespray: kube_network_plugin calico, and Calico's mode from kubespray's defaults (VXLAN always)
    ("kubespray-sample/inventory.ini", "node4", {("udp", 4789): [["cluster_nodes"]],
                                                 ("tcp", 9099): [["cluster_nodes", "self"]]}),
    # k3s-io/k3s-ansible: k3s's flannel, VXLAN (no --flannel-backend in extra_server_args)
    ("k3s-ansible-sample/inventory-sample.yml", "192.16.35.12", {("udp", 8472): [["cluster_nodes"]]}),
    # techno-tim/k3s-ansible: flannel (flannel_iface, no calico_iface or cilium_iface), VXLAN
    ("techno-tim-k3s-ansible/hosts.ini", "192.168.30.41", {("udp", 8472): [["cluster_nodes"]]}),
    # rke2-ansible: RKE2's default canal (flannel VXLAN and felix's health port)
    ("rke2-ansible-basic/hosts.yml", "agent0.example.com",
     {("udp", 8472): [["cluster_nodes"]], ("tcp", 9099): [["cluster_nodes", "self"]]}),
    # rke2-ansible's advanced sample (629e070f, docs/advanced_sample_inventory as shipped): cni: [cilium]
    # in group_vars/rke2_servers.yml only; the agent runs its servers' Cilium, not RKE2's default canal
    ("rke2-ansible-advanced/hosts.yml", "agent0.example.com",
     {("tcp", 4240): [["cluster_nodes"]], ("udp", 8472): [["cluster_nodes"]], ("tcp", 9099): []}),
])
def test_the_cni_and_its_mode_come_from_the_installers_variables(tmp_path, inventory, node, cni_rows):
    """Issue 35, item 6: offline, the CNI's rows from the installers' own variables as shipped."""
    _out, plans = plan(inventory, tmp_path)
    for (proto, port), sources in cni_rows.items():
        assert admits(plans[node], proto, port) == sources, (proto, port, plans[node]["rules"])
    assert not [line for line in plans[node]["warnings"] if "no CNI known" in line]


def test_a_cluster_whose_cni_is_unknown_is_warned_of_in_host_mode(tmp_path):
    """No installer variable names the CNI: host mode says the pods' traffic between nodes would be cut."""
    out, plans = plan("custom-groups.yml", tmp_path,
                      "-e", '{"microseg_group_map": {"masters": "kube_control_plane", "workers": ["kube_node"]}}')
    warning = [line for line in plans["w1"]["warnings"] if "no CNI known" in line]
    assert warning and "state block cuts it" in warning[0] and "microseg_features" in warning[0]
    assert "no CNI known" in out
    assert not [line for line in plans["web1"]["warnings"] if "no CNI known" in line]     # no Kubernetes role


def test_two_clusters_in_one_inventory_do_not_admit_each_other(tmp_path):
    """Issue 35, item 10: microseg_cluster on each team's group. A node admits its own cluster's
    nodes and pod network to the cluster ports, never the other cluster's; its networks and CNI
    are its cluster's; the whitelisted cross-cluster flow (9100 from team b) is admitted."""
    from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.verify import evaluate

    out, plans = plan("two-clusters.yml", tmp_path)
    a_cp, a_w, b_cp, b_w = "10.10.0.1", "10.10.0.2", "10.20.0.1", "10.20.0.2"
    worker, control = plans["a-w1"], plans["a-cp1"]
    assert addresses(worker, "cluster_nodes") == [a_cp + "/32", a_w + "/32"]
    assert addresses(control, "control_plane") == [a_cp + "/32"]
    assert "of cluster team-a" in worker["sets"]["cluster_nodes"]["why"]
    for proto, port, node in (("tcp", 10250, worker), ("udp", 4789, worker), ("tcp", 2379, control)):
        assert evaluate(node, a_cp, proto, port) == "accept", (proto, port)      # its own cluster's control plane
        assert evaluate(node, b_cp, proto, port) == "drop", (proto, port)
        assert evaluate(node, b_w, proto, port) == "drop", (proto, port)
        assert evaluate(node, "10.244.1.5", proto, port) == "drop", (proto, port)     # team b's pods
    assert evaluate(worker, "10.233.64.5", "tcp", 10250) == "accept"                 # team a's pods
    assert addresses(worker, "pod_network") == ["10.233.64.0/18"]
    assert worker["networks"]["service_cidrs"]["cidrs"] == ["10.233.0.0/18"]
    assert "calico_vxlan" in worker["features"] and "flannel_vxlan" not in worker["features"]
    assert "flannel_vxlan" in plans["b-w1"]["features"] and addresses(plans["b-w1"], "pod_network") == ["10.244.0.0/16"]
    # the one cross-cluster flow the list names: team b's hosts to 9100, nobody else
    assert evaluate(worker, b_cp, "tcp", 9100) == "accept" and evaluate(worker, b_w, "tcp", 9100) == "accept"
    assert evaluate(worker, "192.0.2.9", "tcp", 9100) == "drop"
    assert evaluate(plans["b-w1"], a_w, "tcp", 10250) == "drop" and evaluate(plans["b-w1"], b_cp, "tcp", 10250) == "accept"
    assert not [line for plan_ in plans.values() for line in plan_["warnings"] if "differs between hosts" in line]
    assert "203.0.113." not in json.dumps(plans)
