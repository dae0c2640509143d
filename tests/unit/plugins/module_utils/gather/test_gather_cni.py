# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the cni_facts gatherer reads on a node, on files laid out as upstream installers leave
them (tests/unit/fixtures/README.md names each file's source)."""
from __future__ import annotations

import shutil
from pathlib import Path

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect import cni as detect_cni
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.gather import cni as gather_cni
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.node.node_reader import NodeReader

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures"


class FakeModule(object):
    def __init__(self):
        self.warnings = []

    def warn(self, text):
        self.warnings.append(text)

    def get_bin_path(self, _name):
        return None


def reader(tmp_path):
    return NodeReader(FakeModule(), proc=str(tmp_path / "proc"))


def net_d(tmp_path, *files):
    """/etc/cni/net.d with the given fixture files (fixtures/multus/...)."""
    directory = tmp_path / "net.d"
    directory.mkdir()
    for name in files:
        shutil.copy(FIXTURES / "multus" / name, directory / Path(name).name)
    return str(directory)


def no_links():
    return []


# ------------------------------------------------------------------ Multus (issue 35, item 1)

def test_multus_thick_shim_hands_the_pod_network_to_the_conflist_it_names(tmp_path):
    directory = net_d(tmp_path, "thick/00-multus.conf", "thick/10-calico.conflist")
    found = gather_cni.read_cni_config(reader(tmp_path), directory, flannel_seen=False)
    assert found["kind"] == "calico"
    assert found["plugins"] == ["calico", "portmap"]
    assert found["multus"]["delegate_file"] == directory + "/10-calico.conflist"
    assert "clusterNetwork /host/etc/cni/net.d/10-calico.conflist" in found["multus"]["source"]


def test_multus_thin_delegates_inline_flannel(tmp_path):
    directory = net_d(tmp_path, "thin/00-multus.conf")
    found = gather_cni.read_cni_config(reader(tmp_path), directory, flannel_seen=True)
    assert found["kind"] == "flannel" and found["multus"]["source"].endswith("delegates[0]")


def test_rke2_multus_with_canal_keeps_canals_rows(tmp_path):
    """RKE2 `cni: [multus, canal]`: the plan keeps flannel's VXLAN and felix's health port."""
    directory = net_d(tmp_path, "rke2-canal/00-multus.conf", "rke2-canal/10-canal.conflist")
    subnet = detect_cni.parse_env_file((FIXTURES / "multus" / "rke2-canal" / "subnet.env").read_text())
    flannel = detect_cni.flannel_facts(subnet, no_links())
    found = gather_cni.read_cni_config(reader(tmp_path), directory, flannel["present"])
    assert found["kind"] == "canal"
    derived = detect_cni.derive(found, flannel, detect_cni.calico_facts({}, no_links()))
    assert "canal" in derived["features"]          # canal's rows: flannel VXLAN 8472, felix health 9099


def test_multus_cluster_network_by_name_or_unknown(tmp_path):
    directory = tmp_path / "net.d"
    directory.mkdir()
    shutil.copy(FIXTURES / "multus" / "thick" / "10-calico.conflist", directory / "10-calico.conflist")
    (directory / "00-multus.conf").write_text('{"name": "multus-cni-network", "type": "multus", '
                                              '"clusterNetwork": "k8s-pod-network"}')
    found = gather_cni.read_cni_config(reader(tmp_path), str(directory), False)
    assert found["kind"] == "calico" and found["multus"]["delegate_file"].endswith("10-calico.conflist")
    (directory / "00-multus.conf").write_text('{"name": "multus-cni-network", "type": "multus", '
                                              '"clusterNetwork": "some-net-attach-def"}')
    node = reader(tmp_path)
    found = gather_cni.read_cni_config(node, str(directory), False)
    assert found["kind"] == "other" and "Multus hands the pod network to is unknown" in node.problems[0]


def test_multus_without_a_cluster_network_takes_the_next_config(tmp_path):
    directory = tmp_path / "net.d"
    directory.mkdir()
    shutil.copy(FIXTURES / "multus" / "thick" / "10-calico.conflist", directory / "10-calico.conflist")
    (directory / "00-multus.conf").write_text('{"name": "multus-cni-network", "type": "multus-shim"}')
    found = gather_cni.read_cni_config(reader(tmp_path), str(directory), False)
    assert found["kind"] == "calico"
