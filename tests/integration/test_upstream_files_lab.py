# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 35's on-node items on lab nodes, from upstream material as shipped (the recorded files of
tests/unit/fixtures, whose README says where each comes from), read by audit.yml as a user runs it:

- item 1: RKE2 `cni: [multus, canal]`: Multus's 00-multus.conf sorts first; canal's rows stay;
- item 2: a k3s server joined the way k3s's install.sh does it (K3S_URL and K3S_TOKEN in
  k3s.service.env, no flag on its command line) runs embedded etcd; the token never leaves it;
- item 3: k3s with --vpn-auth (flannel's net-conf.json as k3s writes it for Tailscale) is planned
  (tailscaled's port), not refused;
- item 4: k0s's provider read from k0s.yaml (calico, VXLAN moved to 4790);
- item 9: calico-node with the upstream manifest's environment (FELIX_DEFAULTENDPOINTTOHOSTACTION
  ACCEPT): the plan says pod-to-host traffic is Calico's to police.

Each node is its own cluster (microseg_cluster), as a team's one inventory holds several. The run
is -vvv, and the planted token is looked for in everything it printed and wrote."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import lab_inventory, playbook

FIXTURES = Path(__file__).resolve().parents[1] / "unit" / "fixtures"
TOKEN = "K10planted-token-must-not-leave"          # in the k3s fixtures' K3S_TOKEN
STAND_IN = "setsid bash -c \"exec -a %s python3 -c 'import time; time.sleep(10**6)' %s\" >/dev/null 2>&1 </dev/null &"


def put(node, path, fixture):
    node.write(path, (FIXTURES / fixture).read_text())


def multus_canal(node):
    put(node, "/etc/cni/net.d/00-multus.conf", "multus/rke2-canal/00-multus.conf")
    put(node, "/etc/cni/net.d/10-canal.conflist", "multus/rke2-canal/10-canal.conflist")
    put(node, "/run/flannel/subnet.env", "multus/rke2-canal/subnet.env")
    node.sh("ip link add flannel.1 type vxlan id 1 dstport 8472 dev eth0 nolearning && ip link set flannel.1 up")
    node.sh(STAND_IN % ("kubelet", "--config=/var/lib/kubelet/config.yaml"))


def k3s_joined_with_tailscale(node):
    put(node, "/etc/systemd/system/k3s.service.env", "k3s/k3s.service.env.joining-server")
    put(node, "/var/lib/rancher/k3s/agent/etc/flannel/net-conf.json", "k3s/net-conf.tailscale.json")
    node.sh("mkdir -p /opt/stand-in && echo 'import time; time.sleep(10**6)' > /opt/stand-in/server && "
            "cd /opt/stand-in && setsid bash -c 'exec -a k3s python3 server' >/dev/null 2>&1 </dev/null &")


def k0s_calico(node):
    put(node, "/etc/k0s/k0s.yaml", "k0s/k0s.calico.yaml")
    node.sh("mkdir -p /opt/stand-in && echo 'import time; time.sleep(10**6)' > /opt/stand-in/controller && "
            "cd /opt/stand-in && setsid bash -c 'exec -a k0s python3 controller --enable-worker' "
            ">/dev/null 2>&1 </dev/null &")


def calico_manifest(node):
    put(node, "/etc/cni/net.d/10-calico.conflist", "cni/10-calico.conflist")
    put(node, "/tmp/calico-node.env", "calico/calico-node.env")
    node.sh("set -a && . /tmp/calico-node.env && set +a && " + STAND_IN % ("calico-node", "-felix"))
    node.sh(STAND_IN % ("kubelet", ""))


SHAPES = {"up-multus": multus_canal, "up-k3s": k3s_joined_with_tailscale, "up-k0s": k0s_calico,
          "up-calico": calico_manifest}


@pytest.fixture(scope="module")
def audit(lab_nodes, tmp_path_factory):
    base = tmp_path_factory.mktemp("upstream")
    nodes = {}
    for name, prepare in SHAPES.items():
        nodes[name] = lab_nodes(name)
        prepare(nodes[name])
    inventory = lab_inventory(base / "hosts.yml", hosts=list(nodes.values()), microseg_mode="host")
    text = inventory.read_text()
    for name, node in nodes.items():               # each node its own cluster
        text = text.replace("    %s: {}\n" % node.name, "    %s: {microseg_cluster: %s}\n" % (node.name, name))
    inventory.write_text(text)
    plans = base / "plans"
    proc, recap = playbook("audit.yml", inventory, "-vvv", "-e", "microseg_plan_dir=%s" % plans)
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-2000:]
    assert all(counts["failed"] == 0 for counts in recap.values()) and len(recap) == len(nodes), recap
    return nodes, plans, proc


def plan_of(audit, name):
    nodes, plans, _proc = audit
    return json.loads((plans / (nodes[name].name + ".json")).read_text())


def admits(plan, proto, port):
    """Whether a whitelist rule of the plan admits proto/port (ports are "N" or "N-M")."""
    for rule in plan["rules"]:
        if rule["phase"] != "whitelist" or rule["proto"] != proto:
            continue
        for text in rule["ports"]:
            low, _sep, high = text.partition("-")
            if int(low) <= port <= int(high or low):
                return True
    return False


def notes(plan):
    return " ".join(note["text"] if isinstance(note, dict) else note for note in plan["notes"] + plan["warnings"])


def test_multus_in_front_of_canal_keeps_canals_vxlan_and_felix_health(audit):
    plan = plan_of(audit, "up-multus")
    assert admits(plan, "udp", 8472) and admits(plan, "tcp", 9099), plan["rules"]
    assert not admits(plan, "udp", 4789)                                          # the control


def test_a_k3s_server_joined_by_the_installers_environment_runs_etcd(audit):
    plan = plan_of(audit, "up-k3s")
    assert "etcd" in plan["roles"] and admits(plan, "tcp", 2379) and admits(plan, "tcp", 2380), plan["roles"]


def test_k3s_with_tailscale_is_planned_with_tailscaleds_port(audit):
    plan = plan_of(audit, "up-k3s")
    assert admits(plan, "udp", 41641) and "Tailscale" in notes(plan)
    assert not admits(plan, "udp", 8472)                                          # no VXLAN with Tailscale


def test_k0s_provider_and_its_port_come_from_k0s_yaml(audit):
    plan = plan_of(audit, "up-k0s")
    assert admits(plan, "udp", 4790) and not admits(plan, "udp", 4789), plan["rules"]
    assert not admits(plan, "tcp", 179)                                            # not kube-router's BGP


def test_calicos_endpoint_to_host_accept_is_said_in_the_plan(audit):
    plan = plan_of(audit, "up-calico")
    assert "cali-wl-to-host" in notes(plan) and "Calico's to police" in notes(plan)
    assert "cali-wl-to-host" not in notes(plan_of(audit, "up-multus"))             # only where felix accepts


def test_the_planted_k3s_token_is_nowhere_the_run_printed_or_wrote(audit):
    nodes, plans, proc = audit
    assert "microseg_cni" in proc.stdout and "up-k3s" in proc.stdout               # -vvv printed the node's facts
    assert TOKEN not in proc.stdout + proc.stderr
    written = [path for path in plans.rglob("*") if path.is_file()]
    assert written and not [path for path in written if TOKEN in path.read_text()]
