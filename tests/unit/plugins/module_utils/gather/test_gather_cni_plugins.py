# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A CNI added as one plug-in module and one row in detect.cnis.CNIS (here a toy one, made in this
test only: the module a detect/cnis/toy.py would be) flows through gather() into the facts, under
its NAME, and into the derived features, ports and pod CIDRs, with no other file touched
(docs/architecture.md, "The CNI plug-ins")."""
from __future__ import annotations

import json
import types

from test_gather_cni import GatherModule, node_file, node_paths

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect import cnis
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.gather import cni as gather_cni

FACT_KEYS_OF_THE_ROLES = ["flannel", "calico", "cilium", "antrea"]


def toy_plugin():
    """What a detect/cnis/toy.py would hold: its agent's --tunnel-port, read from its process."""
    toy = types.ModuleType("toy")
    toy.NAME, toy.CONFIG_TYPES, toy.READ_BEFORE_CONFIG = "toy", ("toy-cni",), False

    def read(context):
        for pid, argv in context.processes:
            if argv[0].endswith("toy-agent"):
                port = context.reader.read_text(context.reader.proc + "/%s/root/etc/toy/port" % pid)
                return {"present": True, "port": int(port), "source": "process %s (toy-agent) /etc/toy/port" % pid}
        return {"present": False, "port": None, "source": None}

    def kind(_config_name, _facts):
        return toy.NAME

    def derive(found, kind, facts):
        if facts["present"]:
            found.features.add("toy_tunnel")
            found.port("toy_tunnel", facts["port"], facts["source"])
            found.pod_cidr("10.77.0.0/16", "toy's default pool")
        elif kind == toy.NAME:
            found.notes.append("toy: its CNI config is there but toy-agent was not seen running")

    toy.read, toy.kind, toy.derive = read, kind, derive
    return toy


def toy_node(tmp_path, monkeypatch, agent=True):
    node_file(tmp_path, "net.d/10-toy.conflist", json.dumps({"name": "toy", "plugins": [{"type": "toy-cni"}]}))
    if agent:
        proc = tmp_path / "proc" / "700"
        proc.mkdir(parents=True)
        (proc / "cmdline").write_bytes(b"/usr/bin/toy-agent\0--verbose\0")
        node_file(proc / "root", "/etc/toy/port", "7777\n")
    node_paths(tmp_path, monkeypatch)
    monkeypatch.setattr(cnis, "CNIS", cnis.CNIS + (toy_plugin(),))
    return gather_cni.gather(GatherModule(tmp_path), outputs={("ip", ("-details", "-json", "address", "show")): ("[]", None)})


def test_a_toy_cni_in_the_table_flows_into_the_facts_and_the_derived_features(tmp_path, monkeypatch):
    facts = toy_node(tmp_path, monkeypatch)
    assert facts["cni"]["kind"] == "toy"
    assert facts["toy"] == {"present": True, "port": 7777, "source": "process 700 (toy-agent) /etc/toy/port"}
    assert "toy_tunnel" in facts["derived"]["features"]
    assert facts["derived"]["ports"]["toy_tunnel"] == 7777
    assert facts["derived"]["port_origins"]["toy_tunnel"] == "process 700 (toy-agent) /etc/toy/port"
    assert facts["derived"]["pod_cidrs"] == ["10.77.0.0/16"]
    assert facts["derived"]["network_origins"]["pod_cidrs"] == "toy's default pool"
    assert facts["problems"] == []
    for name in FACT_KEYS_OF_THE_ROLES:             # the others still read, and find nothing
        assert facts[name]["present"] is False


def test_a_toy_cni_config_without_its_agent_is_its_kind_with_its_note(tmp_path, monkeypatch):
    facts = toy_node(tmp_path, monkeypatch, agent=False)
    assert facts["cni"]["kind"] == "toy" and facts["toy"]["present"] is False
    assert "toy: its CNI config is there but toy-agent was not seen running" in facts["derived"]["notes"]
    assert "toy_tunnel" not in facts["derived"]["features"]
