# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The nodes' YAML files as real installs write them (issue 33 item 3): lines the old regex
readers misread, read with PyYAML; invalid YAML gives a reason that never quotes the file."""
from __future__ import annotations

import pytest

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect import kube_flags
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect import kubernetes as k8s
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect import yaml_text
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect.yaml_text import dotted_scalars, parse

SECRET = "K10b1e55ed-planted-secret"


def k3s_server(*files):
    """A k3s server whose config files are given as (path, text), in the order k3s reads them."""
    facts = k8s.KubernetesFacts()
    for path, text in files:
        facts.add_supervisor_config("k3s", path, text)
    facts.add_process(900, ["/usr/local/bin/k3s", "server"])
    return facts.result()


CONFIG = "/etc/rancher/k3s/config.yaml"


def test_a_comment_after_a_quoted_value_is_not_part_of_it():
    # k3s's docs write it this way ("none" must be quoted); the regex reader kept `none" # This...`
    result = k3s_server((CONFIG, 'flannel-backend: "none" # This needs to be in quotes\n'))
    assert result["flannel_backend"] == [None, CONFIG + " flannel-backend"]


@pytest.mark.parametrize("text", [
    "cluster-cidr: >-\n  10.42.0.0/16,fd00:42::/56\n",                  # folded block scalar
    "cluster-cidr: |\n  10.42.0.0/16,fd00:42::/56\n",                   # literal block (its newline is no CIDR)
    'cluster-cidr: ["10.42.0.0/16", "fd00:42::/56"]\n',                # flow list
    "cluster-cidr:\n- 10.42.0.0/16\n- fd00:42::/56  # IPv6\n",           # block list, items at the key's indent
    '"cluster-cidr": 10.42.0.0/16,fd00:42::/56\n',                     # a quoted key
    "v4: &v4 10.42.0.0/16\ncluster-cidr: [*v4, 'fd00:42::/56']\n",     # an anchor and its alias
    "---\ncluster-cidr: [10.42.0.0/16, fd00:42::/56]\n---\ncluster-cidr: 10.99.0.0/16\n",  # k3s reads the first document
])
def test_the_pod_networks_however_the_yaml_writes_them(text):
    result = k3s_server((CONFIG, text))
    assert result["networks"]["pod_cidrs"] == ["10.42.0.0/16", "fd00:42::/56"]
    assert result["network_origins"]["pod_cidrs"] == CONFIG + " cluster-cidr"


def test_drop_ins_override_in_name_order_and_plus_appends():
    result = k3s_server(
        (CONFIG, "cluster-init: true\ncluster-cidr: 10.42.0.0/16\nservice-cidr: 10.43.0.0/16\nhttps-listen-port: 6443\n"),
        (CONFIG + ".d/10-ports.yaml", "https-listen-port: 7443\n"),
        (CONFIG + ".d/20-v6.yaml", "cluster-cidr+: [fd00:42::/56]\nservice-cidr: [10.63.0.0/16]\n"),
        (CONFIG + ".d/30-single.yaml", "cluster-init: false\n"))
    assert result["ports"]["apiserver"] == 7443                              # a later file wins
    assert result["port_origins"]["apiserver"] == CONFIG + ".d/10-ports.yaml https-listen-port"
    assert result["networks"]["pod_cidrs"] == ["10.42.0.0/16", "fd00:42::/56"]     # key+ appends
    assert result["network_origins"]["pod_cidrs"] == CONFIG + ".d/20-v6.yaml cluster-cidr"
    assert result["networks"]["service_cidrs"] == ["10.63.0.0/16"]             # without + it replaces, list or not
    # a later `false` turns off what an earlier file turned on: SQLite, no etcd
    assert result["roles"] == ["kube_control_plane"] and "SQLite" in result["absent_features"]["etcd"]


def test_yaml_booleans_and_numbers_read_as_k3s_reads_them():
    flags = dict((flag, value) for flag, value, _append in k8s.supervisor_config_flags(parse(
        "cluster-init: yes\nembedded-registry: True\nhttps-listen-port: 7443\nsecrets-encryption: off\n"
        "node-label: [a=b, c=d]\nkubelet-arg:\n  nested: map\n")))
    assert flags == {"--cluster-init": "", "--embedded-registry": "", "--https-listen-port": "7443",
                     "--secrets-encryption": None, "--node-label": "a=b,c=d"}       # a nested map is no flag


def test_config_secrets_are_withheld_and_never_in_the_facts():
    text = ("token: %s\nagent-token: '%s'\ndatastore-endpoint: postgres://k3s:%s@db:5432/k3s\n"
            "etcd-s3-secret-key: %s\nvpn-auth: name=tailscale,joinKey=%s\nserver: https://10.0.0.1:6443\n"
            % ((SECRET,) * 5))
    flags = dict((flag, value) for flag, value, _append in k8s.supervisor_config_flags(parse(text)))
    assert flags["--token"] == flags["--agent-token"] == flags["--datastore-endpoint"] == kube_flags.SECRET_VALUE
    assert flags["--server"] == "https://10.0.0.1:6443"                    # a URL, not a secret: etcd runs
    result = k3s_server((CONFIG, text))
    assert "etcd" in result["roles"] and result["flannel_backend"] == ["tailscale", CONFIG + " vpn-auth"]
    assert SECRET not in repr(result)


@pytest.mark.parametrize("text", [
    "token: %s\ncluster-cidr: [10.42.0.0/16\n" % SECRET,            # an unclosed flow list
    "token: %s\n  bad: indent\n" % SECRET,                         # a key at a stray indent
    "token: *%s\n" % SECRET,                                       # an alias never defined
    'token: "%s\\q"\n' % SECRET,                                   # an unknown escape
    "token: !vault |\n  %s\n" % SECRET,                            # a tag no safe loader knows
])
def test_invalid_yaml_gives_line_and_column_never_the_content(text):
    data, reason = yaml_text.load(text)
    assert data is None and reason.startswith("not valid YAML at line ")
    assert SECRET not in reason and SECRET[:6] not in reason
    with pytest.raises(ValueError) as raised:
        k8s.KubernetesFacts().add_supervisor_config("k3s", CONFIG, text)
    assert SECRET not in str(raised.value) and not raised.value.missing


def test_a_config_that_is_not_a_map_is_refused():
    with pytest.raises(ValueError, match="not a map of flags"):
        k8s.KubernetesFacts().add_supervisor_config("k3s", CONFIG, "- cluster-init\n")
    assert k3s_server((CONFIG, ""))["networks"] == {}                 # an empty file sets nothing


def test_without_pyyaml_yaml_is_unread_and_json_still_read(monkeypatch):
    monkeypatch.setattr(yaml_text, "yaml", None)
    data, reason = yaml_text.load("cluster-init: true\n")
    assert data is None and reason == yaml_text.MISSING
    with pytest.raises(yaml_text.Unreadable) as raised:
        k8s.KubernetesFacts().add_k0s_config("/etc/k0s/k0s.yaml", "spec: {}\n")
    assert raised.value.missing
    assert yaml_text.load('{"port": 10260}') == ({"port": 10260}, None)
    assert yaml_text.load("{ not json")[1].startswith("not valid JSON")


def test_manifests_with_quoted_flags_comments_and_several_containers():
    manifest = """\
apiVersion: v1
kind: Pod
metadata: {name: kube-apiserver, namespace: kube-system}
spec:
  initContainers:
  - name: wait
    command: ["sh", "-c", "--secure-port=1"]
  containers:
  - name: log-shipper
    command: [fluent-bit, --port=2020]
  - name: kube-apiserver
    command:
    - kube-apiserver
    args:
    - "--secure-port=7443"   # moved from 6443
    - '--service-node-port-range=31000-31999'
    - --service-cluster-ip-range=10.96.0.0/12,fd00:96::/112
"""
    component, flags = k8s.parse_manifest(manifest)
    assert component == "kube-apiserver"
    assert flags["--secure-port"] == "7443" and flags["--service-node-port-range"] == "31000-31999"
    facts = k8s.KubernetesFacts()
    facts.add_manifest("/etc/kubernetes/manifests/kube-apiserver.yaml", manifest)
    assert facts.result()["ports"] == {"apiserver": 7443, "nodeport_range": "31000-31999"}
    assert facts.result()["networks"]["service_cidrs"] == ["10.96.0.0/12", "fd00:96::/112"]


def test_kubelet_config_with_a_quoted_port_and_a_comment():
    facts = k8s.KubernetesFacts()
    facts.add_kubelet_config("/var/lib/kubelet/config.yaml",
                             "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
                             "port: \"10260\"  # moved\nreadOnlyPort: 10265\nauthentication:\n  port: 1\n")
    assert facts.result()["ports"] == {"kubelet": 10260, "kubelet_readonly": 10265}


def test_k0s_yaml_with_flow_maps_and_a_leading_document_marker():
    values = dotted_scalars(parse("---\n# k0s config create\nspec:\n  api: {port: 7443, sans: [10.0.0.1]}\n"
                                  "  network:\n    provider: calico\n    calico: {mode: vxlan, vxlanPort: 4799,"
                                  " wireguard: true}\n"))
    assert values == {"spec.api.port": "7443", "spec.network.provider": "calico", "spec.network.calico.mode": "vxlan",
                      "spec.network.calico.vxlanPort": "4799", "spec.network.calico.wireguard": "true"}
