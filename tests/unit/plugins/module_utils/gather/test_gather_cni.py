# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the cni_facts gatherer reads on a node, on files laid out as upstream installers leave
them (tests/unit/fixtures/README.md names each file's source)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect import cni as detect_cni
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect import cni_derive
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect import kube_flags
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect import kubernetes as detect_kubernetes
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect import supervisor as detect_supervisor
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect.cnis import calico as calico_cni, flannel as flannel_cni
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
    found = gather_cni.read_cni_config(reader(tmp_path), directory, {})
    assert found["kind"] == "calico"
    assert found["plugins"] == ["calico", "portmap"]
    assert found["multus"]["delegate_file"] == directory + "/10-calico.conflist"
    assert "clusterNetwork /host/etc/cni/net.d/10-calico.conflist" in found["multus"]["source"]


def test_multus_thin_delegates_inline_flannel(tmp_path):
    directory = net_d(tmp_path, "thin/00-multus.conf")
    found = gather_cni.read_cni_config(reader(tmp_path), directory, {"flannel": {"present": True}})
    assert found["kind"] == "flannel" and found["multus"]["source"].endswith("delegates[0]")


def test_rke2_multus_with_canal_keeps_canals_rows(tmp_path):
    """RKE2 `cni: [multus, canal]`: the plan keeps flannel's VXLAN and felix's health port."""
    directory = net_d(tmp_path, "rke2-canal/00-multus.conf", "rke2-canal/10-canal.conflist")
    subnet = detect_cni.parse_env_file((FIXTURES / "multus" / "rke2-canal" / "subnet.env").read_text())
    flannel = flannel_cni.flannel_facts(subnet, no_links())
    found = gather_cni.read_cni_config(reader(tmp_path), directory, {"flannel": flannel})
    assert found["kind"] == "canal"
    derived = cni_derive.derive(found, {"flannel": flannel, "calico": calico_cni.calico_facts({}, no_links())})
    assert "canal" in derived["features"]          # canal's rows: flannel VXLAN 8472, felix health 9099


def test_multus_cluster_network_by_name_or_unknown(tmp_path):
    directory = tmp_path / "net.d"
    directory.mkdir()
    shutil.copy(FIXTURES / "multus" / "thick" / "10-calico.conflist", directory / "10-calico.conflist")
    (directory / "00-multus.conf").write_text('{"name": "multus-cni-network", "type": "multus", '
                                              '"clusterNetwork": "k8s-pod-network"}')
    found = gather_cni.read_cni_config(reader(tmp_path), str(directory), {})
    assert found["kind"] == "calico" and found["multus"]["delegate_file"].endswith("10-calico.conflist")
    (directory / "00-multus.conf").write_text('{"name": "multus-cni-network", "type": "multus", '
                                              '"clusterNetwork": "some-net-attach-def"}')
    node = reader(tmp_path)
    found = gather_cni.read_cni_config(node, str(directory), {})
    assert found["kind"] == "other" and "Multus hands the pod network to is unknown" in node.problems[0]


def test_multus_without_a_cluster_network_takes_the_next_config(tmp_path):
    directory = tmp_path / "net.d"
    directory.mkdir()
    shutil.copy(FIXTURES / "multus" / "thick" / "10-calico.conflist", directory / "10-calico.conflist")
    (directory / "00-multus.conf").write_text('{"name": "multus-cni-network", "type": "multus-shim"}')
    found = gather_cni.read_cni_config(reader(tmp_path), str(directory), {})
    assert found["kind"] == "calico"


# ------------------------------------------------------------------ k3s's environment (issue 35, item 2)

TOKEN = "K10planted-token-must-not-leave"


class GatherModule(FakeModule):
    def __init__(self, tmp_path):
        super(GatherModule, self).__init__()
        self.params = {"cni_conf_dir": str(tmp_path / "net.d"), "manifest_dirs": [], "kubelet_config": None,
                       "flannel_subnet_env": str(tmp_path / "subnet.env"),
                       "flannel_net_conf": str(tmp_path / "net-conf.json")}


def node_paths(tmp_path, monkeypatch):
    """The node's files under tmp_path: the distributions' config files (tmp_path/k3s/config.yaml,
    tmp_path/rke2/config.yaml), the environment files their units read (tmp_path + the real path:
    tmp_path/etc/default/NAME, tmp_path/etc/systemd/system/NAME.service.env...), k0s.yaml, MicroK8s's
    data and the kubelet's config; /proc is tmp_path/proc."""
    for distribution, supervisor in list(detect_supervisor.SUPERVISORS.items()):
        env_files = tuple(tuple(str(tmp_path) + path for path in group) for group in supervisor.env_files)
        monkeypatch.setitem(detect_supervisor.SUPERVISORS, distribution,
                            supervisor._replace(config=str(tmp_path / distribution / "config.yaml"), env_files=env_files))
    monkeypatch.setattr(gather_cni, "K0S_CONFIG", str(tmp_path / "k0s.yaml"))
    monkeypatch.setattr(gather_cni, "MICROK8S_DATA", str(tmp_path / "microk8s"))
    monkeypatch.setattr(gather_cni, "DEFAULT_KUBELET_CONFIG", str(tmp_path / "kubelet.yaml"))
    real = gather_cni.NodeReader

    def reader_of_the_fake_proc(module, outputs=None):
        return real(module, str(tmp_path / "proc"), outputs)
    monkeypatch.setattr(gather_cni, "NodeReader", reader_of_the_fake_proc)


def node_file(tmp_path, path, text):
    """A file of the node (its real path, under tmp_path)."""
    target = tmp_path / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)


def k3s_node(tmp_path, monkeypatch, role, env_file, unit, environ=b"PATH=/usr/bin\0"):
    """A node with one k3s process (its environment as given) and the environment file k3s's
    installer wrote for its unit; the configs' and env files' directories moved under tmp_path."""
    proc = tmp_path / "proc" / "4242"
    proc.mkdir(parents=True)
    (proc / "cmdline").write_bytes(b"/usr/local/bin/k3s\0" + role.encode() + b"\0")
    (proc / "cgroup").write_text("0::/system.slice/%s\n" % unit)
    if environ is not None:
        (proc / "environ").write_bytes(environ)
    node_file(tmp_path, "/etc/systemd/system/%s.env" % unit, (FIXTURES / "k3s" / env_file).read_text())
    node_paths(tmp_path, monkeypatch)
    return gather_cni.gather(GatherModule(tmp_path))


@pytest.mark.parametrize("env_file", ["k3s.service.env.first-server", "k3s.service.env.joining-server"])
def test_k3s_servers_joined_as_the_installer_does_it_run_etcd(tmp_path, monkeypatch, env_file):
    facts = k3s_node(tmp_path, monkeypatch, "server", env_file, "k3s.service")
    kubernetes = facts["kubernetes"]
    assert kubernetes["roles"] == ["kube_control_plane", "etcd"], kubernetes
    assert "etcd" not in kubernetes["absent_features"]
    assert TOKEN not in json.dumps(facts)


def test_k3s_environment_file_alone_when_the_process_environment_is_unreadable(tmp_path, monkeypatch):
    facts = k3s_node(tmp_path, monkeypatch, "server", "k3s.service.env.joining-server", "k3s.service", environ=None)
    assert "etcd" in facts["kubernetes"]["roles"] and TOKEN not in json.dumps(facts)


def test_k3s_process_environment_wins_over_the_file_and_its_token_stays_on_the_node(tmp_path, monkeypatch):
    environ = ("K3S_TOKEN=%s-from-the-process\0K3S_P2P_PORT=5101\0K3S_CLUSTER_INIT=false\0" % TOKEN).encode()
    facts = k3s_node(tmp_path, monkeypatch, "server", "k3s.service.env.first-server", "k3s.service", environ=environ)
    assert facts["kubernetes"]["roles"] == ["kube_control_plane"]          # K3S_CLUSTER_INIT=false: SQLite
    assert facts["derived"]["ports"]["k3s_spegel_p2p"] == 5101
    assert TOKEN not in json.dumps(facts)


def test_k3s_agent_from_its_unit_file(tmp_path, monkeypatch):
    facts = k3s_node(tmp_path, monkeypatch, "agent", "k3s-agent.service.env", "k3s-agent.service")
    assert facts["kubernetes"]["roles"] == ["kube_node"] and TOKEN not in json.dumps(facts)


def test_k3s_environment_flags_are_flags_and_secrets_are_withheld():
    flags = detect_supervisor.k3s_environment_flags(
        {"K3S_URL": "https://10.0.0.11:6443", "K3S_CLUSTER_INIT": "true", "K3S_TOKEN": TOKEN,
         "K3S_DATASTORE_ENDPOINT": "postgres://user:pw@db:5432/k3s", "K3S_P2P_PORT": "5101",
         "K3S_VPN_AUTH": "name=tailscale,joinKey=" + TOKEN, "K3S_NODE_NAME": "n1", "PATH": "/bin"}, "k3s.service.env")
    assert flags["--server"] == ("https://10.0.0.11:6443", "k3s.service.env K3S_URL")
    assert flags["--cluster-init"][0] == "" and flags["--node-name"][0] == "n1"
    assert flags["--vpn-auth"][0] == flags["--token"][0] == kube_flags.SECRET_VALUE
    assert "pw" not in json.dumps(flags) and "--p2p-port" not in flags and TOKEN not in json.dumps(flags)


def test_k3s_config_d_keys_ending_in_plus_append():
    facts = detect_kubernetes.KubernetesFacts()
    facts.add_supervisor_config("k3s", "/etc/rancher/k3s/config.yaml", "cluster-cidr: 10.42.0.0/16\n")
    facts.add_supervisor_config("k3s", "/etc/rancher/k3s/config.yaml.d/10-v6.yaml", "cluster-cidr+: fd00:42::/56\n")
    facts.add_process(1, ["k3s", "server"])
    assert facts.result()["networks"]["pod_cidrs"] == ["10.42.0.0/16", "fd00:42::/56"]


# ------------------------------------------------------------------ YAML read on the node (issue 33, item 3)

def k3s_config(tmp_path, *files):
    """config.yaml and drop-ins of the k3s node k3s_node() makes: (name under k3s/, text)."""
    for name, text in files:
        path = tmp_path / "k3s" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_a_token_in_config_yaml_and_the_env_file_never_reaches_the_facts(tmp_path, monkeypatch):
    k3s_config(tmp_path, ("config.yaml", 'token: "%s"\nagent-token: %s\nflannel-backend: "none" # quoted\n'
                                         "cluster-cidr: >-\n  10.52.0.0/16\n" % (TOKEN, TOKEN)),
               ("config.yaml.d/50-db.yaml", "datastore-endpoint: postgres://k3s:%s@db/k3s\n" % TOKEN))
    facts = k3s_node(tmp_path, monkeypatch, "server", "k3s.service.env.first-server", "k3s.service",
                     environ=("K3S_TOKEN=%s\0" % TOKEN).encode())
    kubernetes = facts["kubernetes"]
    assert kubernetes["flannel_backend"] == [None, str(tmp_path / "k3s" / "config.yaml") + " flannel-backend"]
    assert kubernetes["networks"]["pod_cidrs"] == ["10.52.0.0/16"]
    assert facts["yaml_unread"] == [] and not [text for text in facts["problems"] if "yaml" in text.lower()]
    assert TOKEN not in json.dumps(facts)


def test_invalid_config_yaml_is_a_problem_naming_the_file_not_its_token(tmp_path, monkeypatch):
    k3s_config(tmp_path, ("config.yaml", "token: %s\ncluster-cidr: [10.52.0.0/16\n" % TOKEN),
               ("config.yaml.d/10-ports.yml", "https-listen-port: 7443\n"))
    facts = k3s_node(tmp_path, monkeypatch, "server", "k3s.service.env.first-server", "k3s.service")
    problem = [text for text in facts["problems"] if "config.yaml:" in text]
    assert len(problem) == 1 and "not a valid k3s config file (not valid YAML at line 3, column 1" in problem[0]
    assert facts["kubernetes"]["ports"]["apiserver"] == 7443             # the drop-in is still read
    assert TOKEN not in json.dumps(facts)


def test_without_pyyaml_the_yaml_files_are_listed_unread_not_guessed(tmp_path, monkeypatch):
    monkeypatch.setattr(gather_cni.yaml_text, "yaml", None)
    k3s_config(tmp_path, ("config.yaml", "token: %s\nhttps-listen-port: 7443\n" % TOKEN))
    (tmp_path / "kubelet.yaml").write_text('{"kind": "KubeletConfiguration", "port": 10260}')   # JSON: read
    facts = k3s_node(tmp_path, monkeypatch, "server", "k3s.service.env.first-server", "k3s.service")
    assert facts["yaml_unread"] == [str(tmp_path / "k3s" / "config.yaml")]
    assert "apiserver" not in facts["kubernetes"]["ports"]             # not guessed from the file
    assert facts["kubernetes"]["ports"]["kubelet"] == 10260
    assert any("PyYAML is not installed" in text and "config.yaml" in text for text in facts["problems"])
    assert TOKEN not in json.dumps(facts)
