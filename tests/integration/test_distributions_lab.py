# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""k3s, RKE2 and Cilium nodes in the lab, as their installers' inventories name them: each node
shows what it runs the way the distribution does (its process with its real flags, its config
files, its static pods, its tunnel devices), with non-default values; site.yml detects, plans
and applies in host mode with state block, and the matrix checks real connections - what the
plan admits passes, what it does not is dropped (the negative controls), and the tunnels carry
traffic between the nodes while a tunnel on a port the plan does not know is cut.

Stand-ins: a process whose argv is the real program's (`exec -a NAME python3 ROLEFILE FLAGS`:
the script file is named like the subcommand, so argv[1] is `server`, `agent`...), and `nc`
listeners on the ports the real programs serve."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import LAB_CONF, ROOT, ansible_env, lab_inventory

RECAP = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)
CLOSED = 9999          # a port something listens on and no plan admits: the negative control


class Shape(object):
    """The nodes of one distribution's lab cluster and their addresses on the lab network."""

    def __init__(self, nodes, inventory, plans):
        self.nodes = nodes
        self.tunnel = {}            # node -> its address on the real tunnel, on the probe tunnel
        self.inventory = inventory
        self.plans = plans
        self.ip = dict((name, node.sh("ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1").stdout.strip())
                       for name, node in nodes.items())

    def plan(self, name):
        return json.loads((self.plans / (self.nodes[name].name + ".json")).read_text())


def stand_in(node, program, argv, env=""):
    """A process that shows as `program argv...` in /proc (its first argument names the script,
    so `k3s server --flag` reads as the real one)."""
    words = argv.split()
    script, flags = (words[0], " ".join(words[1:])) if words and not words[0].startswith("-") else ("run", argv)
    node.sh("mkdir -p /opt/stand-in && echo 'import time; time.sleep(10**6)' > /opt/stand-in/%s" % script)
    node.sh("cd /opt/stand-in && %s setsid bash -c 'exec -a %s python3 %s %s' >/dev/null 2>&1 </dev/null &"
            % (("env " + env) if env else "", program, script, flags))


def listen(node, *ports):
    for port in ports:
        node.sh("setsid nc -l -k -p %d >/dev/null 2>&1 </dev/null &" % port)


def tunnel(node, device, port, address, peers):
    """A vxlan device flooding to the peers, as flannel and Cilium make them."""
    node.sh("ip link add %s type vxlan id 1 dstport %d dev eth0" % (device, port))
    for peer in peers:
        node.sh("bridge fdb append 00:00:00:00:00:00 dev %s dst %s" % (device, peer))
    node.sh("ip addr add %s dev %s && ip link set %s up" % (address, device, device))


def reaches(peer, ip, port):
    return peer.sh("nc -z -w 2 %s %d" % (ip, port), check=False).returncode == 0


def run_playbook(name, inventory, *extra):
    proc = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory),
                           str(ROOT / "playbooks" / name)] + list(extra),
                          cwd=ROOT, env=ansible_env(CONTAINERS_CONF=LAB_CONF), capture_output=True, text=True,
                          timeout=900, check=False)
    recap = dict((host, int(changed)) for host, _ok, changed, _u, _f in RECAP.findall(proc.stdout))
    return proc, recap


def apply(shape):
    proc, _recap = run_playbook("site.yml", shape.inventory, "-e", "microseg_plan_dir=%s" % shape.plans)
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-2000:]
    proc, recap = run_playbook("site.yml", shape.inventory)
    assert proc.returncode == 0 and not any(recap.values()), recap          # a second run changes nothing
    return proc


def matrix(shape, expected):
    """expected: [(from node, to node, port, passes)] -> the rows that are not as expected."""
    wrong = []
    for source, target, port, passes in expected:
        seen = reaches(shape.nodes[source], shape.ip[target], port)
        if seen != passes:
            words = ("passes" if seen else "blocked", "passes" if passes else "blocked")
            wrong.append("%s -> %s:%d %s, expected %s" % ((source, target, port) + words))
    return wrong


# --------------------------------------------------------------------------- k3s


K3S_SERVER_CONFIG = """\
cluster-init: true
https-listen-port: 7443
cluster-cidr: 10.52.0.0/16
service-cidr: 10.53.0.0/16
service-node-port-range: 31000-31100
embedded-registry: true
"""


@pytest.fixture(scope="module")
def k3s(lab_nodes, tmp_path_factory):
    """One server (embedded etcd, API and supervisor on 7443, the embedded registry with its
    peer-to-peer port moved to 5101) and two agents, as k3s-ansible's inventory names them;
    flannel in-process on vxlan (flannel.1 on 8472, where k3s puts it)."""
    nodes = {"server": lab_nodes("k3s-server"), "agent1": lab_nodes("k3s-agent1"), "agent2": lab_nodes("k3s-agent2")}
    base = tmp_path_factory.mktemp("k3s")
    inventory = lab_inventory(base / "hosts.yml", groups={
        "k3s_cluster": list(nodes.values()), "server": [nodes["server"]], "agent": [nodes["agent1"], nodes["agent2"]]},
        microseg_mode="host", microseg_state="block")
    shape = Shape(nodes, inventory, base / "plans")
    nodes["server"].write("/etc/rancher/k3s/config.yaml", K3S_SERVER_CONFIG)
    for index, (name, node) in enumerate(sorted(nodes.items())):
        node.write("/run/flannel/subnet.env", "FLANNEL_NETWORK=10.52.0.0/16\nFLANNEL_SUBNET=10.52.%d.1/24\n"
                                              "FLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n" % index)
        # k3s keeps its CNI config in its own directory, not /etc/cni/net.d: flannel shows by its devices
        node.write("/var/lib/rancher/k3s/agent/etc/cni/net.d/10-flannel.conflist",
                   '{"name": "cbr0", "cniVersion": "1.0.0", "plugins": [{"type": "flannel"}]}')
        peers = [shape.ip[other] for other in sorted(nodes) if other != name]
        shape.tunnel[name] = ("10.52.%d.1" % index, "10.52.%d.1" % (128 + index))
        tunnel(node, "flannel.1", 8472, shape.tunnel[name][0] + "/17", peers)
        # the same tunnel on a port no plan admits, with addresses in the pod network too
        tunnel(node, "probe.1", 8999, shape.tunnel[name][1] + "/17", peers)
        listen(node, 10250, 6443, 5101, CLOSED)
    stand_in(nodes["server"], "k3s", "server --node-ip=%s" % shape.ip["server"], env="K3S_P2P_PORT=5101")
    listen(nodes["server"], 7443, 2379, 2380, 31050)
    for name in ("agent1", "agent2"):
        stand_in(nodes[name], "k3s", "agent --server https://%s:7443" % shape.ip["server"], env="K3S_P2P_PORT=5101")
    return shape


def test_k3s_detected_planned_and_applied(k3s):
    server, agent1, agent2 = k3s.nodes["server"], k3s.nodes["agent1"], k3s.nodes["agent2"]
    assert reaches(server, k3s.tunnel["agent1"][1], 10250)                 # the probe tunnel works unfiltered
    assert reaches(agent1, k3s.ip["server"], CLOSED) and reaches(agent1, k3s.ip["server"], 2379)   # open before
    apply(k3s)

    plan = k3s.plan("server")
    assert plan["roles"] == ["etcd", "kube_control_plane"]
    assert {"flannel_vxlan", "k3s_embedded_registry"} <= set(plan["features"])
    text = json.dumps(plan)
    assert "7443 (/etc/rancher/k3s/config.yaml https-listen-port)" in text
    agent = k3s.plan("agent1")
    assert agent["roles"] == ["kube_node"]
    assert "k3s_embedded_registry" in agent["features"]                     # from the server, cluster-wide
    assert agent["networks"]["pod_cidrs"]["cidrs"] == ["10.52.0.0/16"]

    assert matrix(k3s, [
        ("agent1", "server", 7443, True),       # supervisor and API
        ("agent1", "server", 10250, True),
        ("agent1", "server", 5101, True),       # Spegel, on its moved port
        ("agent1", "server", 31050, True),      # a NodePort in the server's range
        ("agent1", "server", 2379, False),      # etcd: servers only
        ("agent1", "server", 2380, False),
        ("agent1", "server", CLOSED, False),
        ("server", "agent1", 10250, True),
        ("server", "agent1", 6443, True),       # the embedded registry on an agent
        ("agent2", "agent1", 5101, True),
        ("server", "agent1", CLOSED, False),
        ("agent1", "agent2", CLOSED, False),
    ]) == []
    # pods' traffic through the tunnel: the kubelet from the pod network over flannel.1 (8472)
    # passes; the same over a vxlan on a port no plan admits is cut at the outer packet
    assert reaches(server, k3s.tunnel["agent1"][0], 10250) and reaches(agent2, k3s.tunnel["agent1"][0], 10250)
    assert not reaches(server, k3s.tunnel["agent1"][1], 10250)

    # verify.yml probes every planned flow between the nodes, the blocked ones included
    proc, _recap = run_playbook("verify.yml", k3s.inventory)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert re.search(r"(\d+) flows, \1 as expected, 0 broken", proc.stdout), proc.stdout[-3000:]


# --------------------------------------------------------------------------- RKE2


def manifest(component, *flags):
    """A static pod manifest as RKE2 writes them (command and flags as list items)."""
    lines = ["apiVersion: v1", "kind: Pod", "metadata:", "  name: %s" % component, "  namespace: kube-system",
             "spec:", "  containers:", "  - name: %s" % component, "    command:", "    - %s" % component]
    lines += ["    - %s" % flag for flag in flags]
    return "\n".join(lines) + "\n"


CANAL_CONFLIST = ('{"name": "k8s-pod-network", "cniVersion": "0.3.1", "plugins": [{"type": "calico", '
                  '"datastore_type": "kubernetes"}, {"type": "portmap"}]}')
CANAL_ENV = "CALICO_NETWORKING_BACKEND=none FELIX_HEALTHPORT=9199 FELIX_IPTABLESBACKEND=auto"


@pytest.fixture(scope="module")
def rke2(lab_nodes, tmp_path_factory):
    """One server (supervisor 9345, API 6443 and etcd as static pods, NodePorts 31200-31300) and
    one agent, as rke2-ansible's inventory names them, with canal: flannel vxlan and
    calico-node's felix with its health port moved to 9199."""
    nodes = {"server": lab_nodes("rke2-server"), "agent": lab_nodes("rke2-agent")}
    base = tmp_path_factory.mktemp("rke2")
    inventory = lab_inventory(base / "hosts.yml", groups={
        "rke2_cluster": list(nodes.values()), "rke2_servers": [nodes["server"]], "rke2_agents": [nodes["agent"]]},
        microseg_mode="host", microseg_state="block")
    shape = Shape(nodes, inventory, base / "plans")
    server = nodes["server"]
    server.write("/etc/rancher/rke2/config.yaml", "cni: canal\nservice-node-port-range: 31200-31300\n"
                                                  "cluster-cidr: 10.62.0.0/16\nservice-cidr: 10.63.0.0/16\n")
    pods = "/var/lib/rancher/rke2/agent/pod-manifests/"
    server.write(pods + "kube-apiserver.yaml", manifest(
        "kube-apiserver", "--secure-port=6443", "--service-cluster-ip-range=10.63.0.0/16",
        "--service-node-port-range=31200-31300"))
    server.write(pods + "etcd.yaml", manifest(
        "etcd", "--listen-client-urls=https://127.0.0.1:2379,https://%s:2379" % shape.ip["server"],
        "--listen-peer-urls=https://%s:2380" % shape.ip["server"]))
    nodes["agent"].write("/etc/rancher/rke2/config.yaml", "server: https://%s:9345\n" % shape.ip["server"])
    for index, (name, node) in enumerate(sorted(nodes.items())):
        node.write("/etc/cni/net.d/10-canal.conflist", CANAL_CONFLIST)
        node.write("/run/flannel/subnet.env", "FLANNEL_NETWORK=10.62.0.0/16\nFLANNEL_SUBNET=10.62.%d.1/24\n" % index)
        peers = [shape.ip[other] for other in sorted(nodes) if other != name]
        shape.tunnel[name] = ("10.62.%d.1" % index, None)
        tunnel(node, "flannel.1", 8472, shape.tunnel[name][0] + "/17", peers)
        stand_in(node, "calico-node", "-felix", env=CANAL_ENV)
        listen(node, 10250, 9199, CLOSED)
    stand_in(server, "rke2", "server")
    stand_in(nodes["agent"], "rke2", "agent")
    listen(server, 9345, 6443, 2379, 2380, 31250)
    listen(nodes["agent"], 9345)                # not the agent's: a negative control
    return shape


def test_rke2_with_canal_detected_planned_and_applied(rke2):
    agent = rke2.nodes["agent"]
    assert reaches(agent, rke2.ip["server"], 2379)                          # open before
    apply(rke2)

    plan = rke2.plan("server")
    assert plan["roles"] == ["etcd", "kube_control_plane"]
    assert {"rke2_supervisor", "canal"} <= set(plan["features"])
    assert "calico_bgp" not in plan["features"]                             # canal: no BGP
    assert "9199 (process" in json.dumps(plan)                              # felix's health port, read
    assert rke2.plan("agent")["roles"] == ["kube_node"] and "rke2_supervisor" not in rke2.plan("agent")["features"]

    assert matrix(rke2, [
        ("agent", "server", 9345, True),        # the agent registers with the supervisor
        ("agent", "server", 6443, True),
        ("agent", "server", 10250, True),
        ("agent", "server", 9199, True),        # canal's health checks
        ("agent", "server", 31250, True),
        ("agent", "server", 2379, False),       # etcd: servers only
        ("agent", "server", 2380, False),
        ("agent", "server", CLOSED, False),
        ("server", "agent", 10250, True),
        ("server", "agent", 9199, True),
        ("server", "agent", 9345, False),       # the supervisor is a server's
        ("server", "agent", CLOSED, False),
    ]) == []
    assert reaches(rke2.nodes["server"], rke2.tunnel["agent"][0], 10250)   # the canal tunnel carries pods' traffic


# --------------------------------------------------------------------------- Cilium


# This kernel has no geneve (lab/LAB notes): the lab's Cilium runs its other tunnel, vxlan, on a
# moved port; geneve is read from recorded devices in the unit tests.
CILIUM_CONFIG_MAP = {"routing-mode": "tunnel", "tunnel-protocol": "vxlan", "tunnel-port": "8573", "enable-hubble": "true",
                     "hubble-listen-address": ":4254", "cluster-pool-ipv4-cidr": "10.72.0.0/16",
                     "kube-proxy-replacement": "true", "enable-ipv4": "true"}


@pytest.fixture(scope="module")
def cilium(lab_nodes, tmp_path_factory):
    """A kubeadm-style control plane and worker (kubespray's groups) running Cilium in vxlan
    mode on a non-default port (cilium_vxlan shows it), Hubble on 4254, its health port moved by
    a flag, the kube-proxy replacement on; the options in the agent's config map directory."""
    nodes = {"cp": lab_nodes("cilium-cp"), "worker": lab_nodes("cilium-w")}
    base = tmp_path_factory.mktemp("cilium")
    inventory = lab_inventory(base / "hosts.yml", groups={
        "k8s_cluster": list(nodes.values()), "kube_control_plane": [nodes["cp"]], "kube_node": [nodes["worker"]]},
        microseg_mode="host", microseg_state="block")
    shape = Shape(nodes, inventory, base / "plans")
    for index, (name, node) in enumerate(sorted(nodes.items())):
        for option, value in CILIUM_CONFIG_MAP.items():
            node.write("/tmp/cilium/config-map/" + option, value)
        node.write("/etc/cni/net.d/05-cilium.conflist",
                   '{"name": "cilium", "cniVersion": "0.3.1", "plugins": [{"type": "cilium-cni"}]}')
        peer = [shape.ip[other] for other in sorted(nodes) if other != name]
        shape.tunnel[name] = ("10.72.%d.1" % index, "10.72.%d.1" % (128 + index))
        tunnel(node, "cilium_vxlan", 8573, shape.tunnel[name][0] + "/17", peer)
        tunnel(node, "probe.1", 8999, shape.tunnel[name][1] + "/17", peer)
        stand_in(node, "cilium-agent", "--config-dir=/tmp/cilium/config-map --cluster-health-port=4340")
        stand_in(node, "kubelet", "--node-ip=%s" % shape.ip[name])
        listen(node, 10250, 4340, 4254, CLOSED)
    listen(nodes["cp"], 6443, 2379, 4240)
    return shape


def test_cilium_detected_planned_and_applied(cilium):
    cp = cilium.nodes["cp"]
    assert reaches(cp, cilium.tunnel["worker"][1], 10250)                  # the probe tunnel works unfiltered
    apply(cilium)

    plan = cilium.plan("worker")
    assert {"cilium_vxlan", "cilium_health", "cilium_hubble", "cilium_kube_proxy_replacement"} <= set(plan["features"])
    text = json.dumps(plan)
    assert "8573 (device cilium_vxlan (vxlan dstport))" in text
    assert "4340 (cilium-agent --cluster-health-port)" in text
    assert plan["networks"]["pod_cidrs"]["cidrs"] == ["10.72.0.0/16"]
    # what the plan cannot see is said: NodePorts answered in eBPF before netfilter
    assert "cilium_kube_proxy_replacement" in [note["id"] for note in plan["notes"]]

    assert matrix(cilium, [
        ("worker", "cp", 4340, True),           # health checks, on the moved port
        ("cp", "worker", 4340, True),
        ("cp", "worker", 4254, True),           # Hubble (the relay reaches every node)
        ("worker", "cp", 10250, True),
        ("worker", "cp", 6443, True),
        ("worker", "cp", 2379, False),          # etcd: control plane only
        ("worker", "cp", 4240, False),          # Cilium's default health port: not what this node uses
        ("worker", "cp", CLOSED, False),
        ("cp", "worker", CLOSED, False),
    ]) == []
    # the tunnel on its real port carries pods' traffic; one on a port no plan admits does not
    assert reaches(cp, cilium.tunnel["worker"][0], 10250)
    assert not reaches(cp, cilium.tunnel["worker"][1], 10250)
    assert "8472" not in json.dumps([rule for rule in plan["rules"] if rule["proto"] == "udp"])   # not the default
