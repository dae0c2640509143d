# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""cni_facts and firewall_facts on Kubernetes-shaped lab nodes, through the ansible CLI and the
podman connection: real files, real vxlan devices, real processes with a calico-node environment."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import netaddr
import pytest
from conftest import LAB_CONF, ROOT, ansible_env, lab_inventory

FIXTURES = Path(__file__).resolve().parents[1] / "unit" / "fixtures"
CALICO_ENV = ("CALICO_NETWORKING_BACKEND=bird CALICO_IPV4POOL_IPIP=CrossSubnet CALICO_IPV4POOL_VXLAN=always "
              "FELIX_VXLANPORT=4790 CALICO_IPV4POOL_CIDR=192.168.0.0/16 FELIX_TYPHAK8SSERVICENAME=calico-typha")
# Stand-ins for the real programs: a process whose argv[0] is the program's name (bash for
# `exec -a`; setsid so it outlives the exec session).
STAND_IN = "setsid bash -c \"exec -a %s python3 -c 'import time; time.sleep(10**6)' %s\" >/dev/null 2>&1 &"


@pytest.fixture(scope="module")
def control_plane(lab_nodes):
    """kubeadm-style control plane: manifests with non-default ports, kubelet config, flannel in
    vxlan mode on port 8572 (a real flannel.1 device)."""
    node = lab_nodes("cp1")
    for name in ("kube-apiserver.yaml", "etcd.yaml", "kube-scheduler.yaml", "kube-controller-manager.yaml"):
        node.write("/etc/kubernetes/manifests/" + name, (FIXTURES / "manifests" / name).read_text())
    node.write("/var/lib/kubelet/config.yaml", (FIXTURES / "manifests" / "kubelet-config.yaml").read_text())
    node.write("/etc/cni/net.d/10-flannel.conflist", (FIXTURES / "cni" / "10-flannel.conflist").read_text())
    node.write("/etc/cni/net.d/99-loopback.conf", '{"cniVersion": "0.3.1", "name": "lo", "type": "loopback"}')
    node.write("/run/flannel/subnet.env", (FIXTURES / "cni" / "subnet.env").read_text())
    node.sh("ip link add flannel.1 type vxlan id 1 dstport 8572 dev eth0 nolearning && ip link set flannel.1 up")
    node.sh(STAND_IN % ("kubelet", "--config=/var/lib/kubelet/config.yaml") + " sleep 0.3")
    return node


@pytest.fixture(scope="module")
def calico_worker(lab_nodes):
    """A calico worker: a calico-node process environment (BGP, IPIP CrossSubnet, VXLAN on 4790),
    a real vxlan.calico device, Typha running here, a kubelet on --port 10270, and a malformed
    CNI config that sorts first."""
    node = lab_nodes("w1")
    node.write("/etc/cni/net.d/00-broken.conflist", (FIXTURES / "cni" / "00-broken.conflist").read_text())
    node.write("/etc/cni/net.d/10-calico.conflist", (FIXTURES / "cni" / "10-calico.conflist").read_text())
    node.sh("ip link add vxlan.calico type vxlan id 4096 dstport 4790 dev eth0 && ip link set vxlan.calico up")
    node.sh("env %s %s" % (CALICO_ENV, STAND_IN % ("calico-node", "-felix")))
    node.sh(STAND_IN % ("calico-typha", ""))
    node.sh(STAND_IN % ("kubelet", "--port=10270") + " sleep 0.3")
    return node


def cni_facts(node, check=False):
    rc, result = node.run_module("cni_facts", check=check)
    assert rc == 0 and result["changed"] is False, result
    return result["ansible_facts"]["microseg_cni"], result


def test_control_plane_with_flannel_vxlan_on_a_custom_port(control_plane):
    found, _result = cni_facts(control_plane)
    kubernetes = found["kubernetes"]
    assert kubernetes["roles"] == ["kube_control_plane", "etcd"]
    assert kubernetes["ports"] == {"apiserver": 8443, "nodeport_range": "31000-31999", "etcd_client": 12379,
                                   "etcd_peer": 12380, "controller_manager": 10357, "kubelet": 10260}
    assert kubernetes["port_origins"]["kubelet"] == "/var/lib/kubelet/config.yaml port"
    assert found["cni"]["config_file"] == "/etc/cni/net.d/10-flannel.conflist" and found["cni"]["kind"] == "flannel"
    assert found["flannel"]["backend"] == "vxlan" and found["flannel"]["port"] == 8572
    assert found["flannel"]["source"] == "device flannel.1 (vxlan dstport)"
    derived = found["derived"]
    assert derived["features"] == ["flannel_vxlan"] and derived["pod_cidrs"] == ["10.244.0.0/16"]
    assert derived["ports"]["flannel_vxlan"] == 8572 and derived["ports"]["apiserver"] == 8443
    assert found["problems"] == []


def test_calico_worker_from_the_process_environment(calico_worker):
    found, result = cni_facts(calico_worker, check=True)
    assert found["kubernetes"]["roles"] == ["kube_node"]
    assert found["kubernetes"]["ports"] == {"kubelet": 10270}
    calico = found["calico"]
    assert calico["backend"] == "bird" and calico["ipip"] == "CrossSubnet" and calico["vxlan"] == "Always"
    assert calico["vxlan_port"] == 4790 and calico["sources"]["vxlan_port"] == "device vxlan.calico (vxlan dstport)"
    assert calico["runs_typha"] is True and calico["typha_client"] is True
    assert calico["sources"]["backend"].endswith("(calico-node) environment CALICO_NETWORKING_BACKEND")
    assert found["derived"]["features"] == ["calico_bgp", "calico_health", "calico_ipip", "calico_typha", "calico_vxlan"]
    assert found["derived"]["ports"]["calico_vxlan"] == 4790
    assert found["derived"]["pod_cidrs"] == ["192.168.0.0/16"]
    # the malformed config sorts first: it is named in a warning, and every other fact is still there
    assert any("/etc/cni/net.d/00-broken.conflist: malformed CNI config" in p for p in found["problems"])
    assert any("00-broken.conflist" in warning for warning in result.get("warnings", []))


def test_firewall_facts_on_a_lab_node(calico_worker):
    calico_worker.sh("iptables -N KUBE-FIREWALL && iptables -I INPUT -j KUBE-FIREWALL && iptables -N cali-INPUT")
    rc, result = calico_worker.run_module("firewall_facts")
    assert rc == 0 and result["changed"] is False
    found = result["ansible_facts"]["microseg_firewall"]
    assert found["iptables"]["present"] and found["iptables"]["variant"] == "nf_tables"
    assert found["iptables"]["nft_rules"] == 1
    assert found["foreign_chains"]["ipv4"] == {"kubernetes": ["filter/KUBE-FIREWALL"], "calico": ["filter/cali-INPUT"]}
    assert found["nftables"]["present"] is True
    assert {"iptables-restore", "ip6tables-restore", "nft"} <= set(found["commands"])
    assert "firewall-cmd" not in found["commands"] and "ufw" not in found["commands"]


def test_audit_plans_from_what_the_nodes_run(control_plane, calico_worker, tmp_path):
    """playbooks/audit.yml: detection feeds the planner - detected ports replace the catalog
    defaults, a host in no group gets its detected role, the NodePort range read on the
    control plane reaches the worker."""
    inventory = lab_inventory(tmp_path / "hosts.yml", hosts=[calico_worker], groups={"kube_control_plane": [control_plane]},
                              microseg_mode="host")
    plans = tmp_path / "plans"
    proc = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), str(ROOT / "playbooks" / "audit.yml"),
                           "-e", "microseg_plan_dir=%s" % plans],
                          cwd=ROOT, env=ansible_env(CONTAINERS_CONF=LAB_CONF), capture_output=True, text=True,
                          timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    cp = json.loads((plans / (control_plane.name + ".json")).read_text())
    worker = json.loads((plans / (calico_worker.name + ".json")).read_text())

    def admitted(plan):
        return sorted((r["proto"], r["ports"], r["from"]) for r in plan["rules"] if r["phase"] == "whitelist")

    assert cp["roles"] == ["etcd", "kube_control_plane"]
    assert admitted(cp) == sorted([
        ("tcp", ["10260"], ["cluster_nodes", "pod_network", "self"]),
        ("tcp", ["10259", "10357"], ["self"]),
        ("tcp", ["12379-12380"], ["control_plane"]),
        ("tcp", ["8443", "31000-31999"], []),       # kube-proxy serves NodePorts on control planes too
        ("udp", ["31000-31999"], []),
        ("udp", ["8572"], ["cluster_nodes"]),
    ])
    assert worker["roles"] == ["kube_node"]          # in no group: the detected role
    assert admitted(worker) == sorted([
        ("ipip", [], ["cluster_nodes"]),
        ("tcp", ["10270"], ["cluster_nodes", "pod_network", "self"]),
        ("tcp", ["179", "5473"], ["cluster_nodes"]),
        ("tcp", ["9098-9099"], ["cluster_nodes", "self"]),         # calico-node and Typha health checks (merged)
        ("tcp", ["31000-31999"], []),
        ("udp", ["4790"], ["cluster_nodes"]),
        ("udp", ["31000-31999"], []),
    ])
    # both lab nodes' gathered addresses (adjacent ones merge into one CIDR)
    assert netaddr.IPSet(cp["sets"]["cluster_nodes"]["ipv4"]).size == 2
    assert "8443 (/etc/kubernetes/manifests/kube-apiserver.yaml --secure-port)" in json.dumps(cp)
    assert "everything else: DROP" in proc.stdout
