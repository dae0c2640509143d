# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""gather()'s whole facts on fake nodes, one per CNI (and canal, Multus-free), compared with the
facts recorded in tests/unit/fixtures/cni_facts/: the CNI facts (`flannel`, `calico`, `cilium`,
`antrea`, `cni`) and `derived` stay byte for byte what the roles and the planner read, whatever
shape the code that gathers them takes. Paths under the test's directory are written <node>, the
Python running the tests <python>.

To record them again after a change meant to change the facts:
MICROSEG_RECORD_CNI_FACTS=1 make unit, then read the diff."""
from __future__ import annotations

import json
import os
import sys

import pytest

from test_gather_cni import FIXTURES, GatherModule, node_file, node_paths

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect import cnis
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.gather import cni as gather_cni

RECORDED = FIXTURES / "cni_facts"
IP_ADDRESS = ("ip", ("-details", "-json", "address", "show"))


def link(name, kind=None, port=None, vni=None, addresses=()):
    info = {"info_kind": kind, "info_data": {"port": port, "id": vni}} if kind else None
    entry = {"ifname": name, "addr_info": [{"local": address.split("/")[0], "prefixlen": int(address.split("/")[1])}
                                           for address in addresses]}
    if info:
        entry["linkinfo"] = info
    return entry


def process(tmp_path, pid, argv, environ=b"PATH=/usr/bin\0"):
    proc = tmp_path / "proc" / str(pid)
    proc.mkdir(parents=True)
    (proc / "cmdline").write_bytes(b"\0".join(word.encode() for word in argv) + b"\0")
    (proc / "cgroup").write_text("0::/kubepods.slice/x\n")
    if environ is not None:
        (proc / "environ").write_bytes(environ)
    return proc


def in_process(proc, path, text):
    """A file as the containerised process sees it (/proc/PID/root/PATH)."""
    target = proc / "root" / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)


def calico_environ(extra=""):
    text = (FIXTURES / "calico" / "calico-node.env").read_text() + extra
    return "\0".join(line for line in text.splitlines() if line and not line.startswith("#")).encode() + b"\0"


def flannel_node(tmp_path):
    node_file(tmp_path, "net.d/10-flannel.conflist", (FIXTURES / "cni" / "10-flannel.conflist").read_text())
    node_file(tmp_path, "subnet.env", (FIXTURES / "cni" / "subnet.env").read_text())
    node_file(tmp_path, "net-conf.json", (FIXTURES / "cni" / "net-conf.json").read_text())
    return [link("flannel.1", "vxlan", 8572, 1, ["10.244.1.0/32"]), link("cni0", "bridge", None, None, ["10.244.1.1/24"]),
            link("nodelocaldns", "dummy", None, None, ["169.254.25.10/32"])]


def canal_node(tmp_path):
    node_file(tmp_path, "net.d/10-canal.conflist", (FIXTURES / "cni" / "10-calico.conflist").read_text())
    node_file(tmp_path, "subnet.env", (FIXTURES / "cni" / "subnet.env").read_text())
    process(tmp_path, 300, ["calico-node", "-felix"], calico_environ("\nFELIX_HEALTHPORT=9199\n"))
    return [link("flannel.1", "vxlan", 8472, 1)]


def calico_node(tmp_path):
    node_file(tmp_path, "net.d/10-calico.conflist", (FIXTURES / "cni" / "10-calico.conflist").read_text())
    process(tmp_path, 300, ["calico-node", "-felix"], calico_environ(
        "\nFELIX_WIREGUARDENABLED=true\nCALICO_IPV4POOL_CIDR=10.233.64.0/18\nFELIX_TYPHAK8SSERVICENAME=calico-typha\n"))
    process(tmp_path, 310, ["/usr/bin/calico-typha"])
    return [link("tunl0", "ipip"), link("vxlan.calico", "vxlan", 4790, 4096), link("wireguard.cali", "wireguard")]


def cilium_node(tmp_path):
    node_file(tmp_path, "net.d/05-cilium.conflist", (FIXTURES / "cni" / "05-cilium.conf").read_text())
    proc = process(tmp_path, 400, ["cilium-agent", "--config-dir=/tmp/cilium/config-map", "--enable-hubble=true"])
    for name, value in (("tunnel-protocol", "geneve"), ("hubble-listen-address", ":4245"),
                        ("cluster-pool-ipv4-cidr", "10.0.0.0/8"), ("prometheus-serve-addr", ":9962"),
                        (".hidden", "x")):
        in_process(proc, "/tmp/cilium/config-map/" + name, value)
    return [link("cilium_geneve", "geneve", 6081), link("cilium_host")]


def cilium_config_only_node(tmp_path):
    node_file(tmp_path, "net.d/05-cilium.conflist", (FIXTURES / "cni" / "05-cilium.conf").read_text())
    return []


def antrea_node(tmp_path):
    node_file(tmp_path, "net.d/10-antrea.conflist", json.dumps({"name": "antrea", "plugins": [{"type": "antrea"}]}))
    agent = process(tmp_path, 500, ["antrea-agent", "--config=/etc/antrea/antrea-agent.conf"])
    in_process(agent, "/etc/antrea/antrea-agent.conf", (FIXTURES / "antrea" / "antrea-agent.conf").read_text())
    controller = process(tmp_path, 510, ["antrea-controller"])
    in_process(controller, "/etc/antrea/antrea-controller.conf", "apiPort: 10349\n")
    return [link("antrea-gw0"), link("vxlan_sys_4799", "vxlan", 4799)]


def antrea_unreadable_node(tmp_path):
    node_file(tmp_path, "net.d/10-antrea.conflist", json.dumps({"name": "antrea", "plugins": [{"type": "antrea"}]}))
    process(tmp_path, 500, ["antrea-agent"])
    return [link("antrea-gw0")]


def weave_node(tmp_path):
    node_file(tmp_path, "net.d/10-weave.conflist", json.dumps({"name": "weave", "plugins": [{"type": "weave-net"}]}))
    return [link("weave", "bridge")]


def k3s_tailscale_node(tmp_path):
    process(tmp_path, 600, ["/usr/local/bin/k3s", "server", "--flannel-backend=wireguard-native"])
    node_file(tmp_path, "var/lib/rancher/k3s/agent/etc/flannel/net-conf.json",
              (FIXTURES / "k3s" / "net-conf.tailscale.json").read_text())
    process(tmp_path, 610, ["/usr/sbin/tailscaled", "--port=41700"])
    return []


def malformed_node(tmp_path):
    node_file(tmp_path, "net.d/00-broken.conflist", (FIXTURES / "cni" / "00-broken.conflist").read_text())
    node_file(tmp_path, "net-conf.json", "{not json")
    process(tmp_path, 300, ["calico-node"], b"FELIX_LOGSEVERITYSCREEN=info\0CALICO_IPV4POOL_IPIP=sometimes\0")
    return [link("kube-ipvs0", "dummy", None, None, ["10.96.0.1/32", "fe80::1/64"])]


NODES = {"flannel": flannel_node, "canal": canal_node, "calico": calico_node, "cilium": cilium_node,
         "cilium_config_only": cilium_config_only_node, "antrea": antrea_node,
         "antrea_unreadable": antrea_unreadable_node, "weave": weave_node, "k3s_tailscale": k3s_tailscale_node,
         "malformed": malformed_node, "antrea_without_pyyaml": antrea_node}


def gathered(tmp_path, monkeypatch, name):
    links = NODES[name](tmp_path)
    node_paths(tmp_path, monkeypatch)
    if name == "k3s_tailscale":
        monkeypatch.setattr(cnis.flannel, "K3S_NET_CONF",
                            str(tmp_path) + "/var/lib/rancher/k3s/agent/etc/flannel/net-conf.json")
    if name == "antrea_without_pyyaml":
        monkeypatch.setattr(gather_cni.yaml_text, "yaml", None)
    module = GatherModule(tmp_path)
    if name == "k3s_tailscale":
        module.params["flannel_net_conf"] = gather_cni.ARGUMENT_SPEC["flannel_net_conf"]["default"]
    facts = gather_cni.gather(module, outputs={IP_ADDRESS: (json.dumps(links), None)})
    text = json.dumps(facts, sort_keys=True).replace(str(tmp_path), "<node>")
    return json.loads(text.replace(json.dumps(sys.executable)[1:-1], "<python>"))


@pytest.mark.parametrize("name", sorted(NODES))
def test_gathered_facts_are_the_recorded_ones(tmp_path, monkeypatch, name):
    facts = gathered(tmp_path, monkeypatch, name)
    path = RECORDED / (name + ".json")
    if os.environ.get("MICROSEG_RECORD_CNI_FACTS"):
        path.write_text(json.dumps(facts, indent=1, sort_keys=True) + "\n")
    assert facts == json.loads(path.read_text())
