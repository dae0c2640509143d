# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes detection on kubeadm-style manifests, process command lines and kubelet configs."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect import kube_flags
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect import kubernetes as k8s
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect.yaml_text import dotted_scalars, parse

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "manifests"


def control_plane():
    facts = k8s.KubernetesFacts()
    for name in ("kube-apiserver.yaml", "etcd.yaml", "kube-scheduler.yaml", "kube-controller-manager.yaml"):
        facts.add_manifest("/etc/kubernetes/manifests/" + name, (FIXTURES / name).read_text())
    return facts


def test_kubeadm_control_plane_with_non_default_ports():
    facts = control_plane()
    facts.add_process(812, ["/usr/bin/kubelet", "--config=/var/lib/kubelet/config.yaml", "--port", "10270"])
    facts.add_kubelet_config("/var/lib/kubelet/config.yaml", (FIXTURES / "kubelet-config.yaml").read_text())
    result = facts.result()
    assert result["roles"] == ["kube_control_plane", "etcd"]
    assert result["ports"] == {
        "apiserver": 8443, "nodeport_range": "31000-31999", "etcd_client": 12379, "etcd_peer": 12380,
        "controller_manager": 10357, "kubelet": 10270,
    }
    # the scheduler has no --secure-port: no value, the planner keeps the catalog default
    assert "scheduler" not in result["ports"]
    assert result["port_origins"]["apiserver"] == "/etc/kubernetes/manifests/kube-apiserver.yaml --secure-port"
    assert result["port_origins"]["kubelet"] == "process 812 (kubelet) --port"     # flags beat the config file
    assert result["components"]["kube-apiserver"] == "/etc/kubernetes/manifests/kube-apiserver.yaml"


def test_kubelet_port_from_its_config_file_when_no_flag():
    facts = k8s.KubernetesFacts()
    facts.add_process(90, ["kubelet", "--config", "/etc/k/config.yaml"])
    assert facts.kubelet_config == "/etc/k/config.yaml"
    facts.add_kubelet_config("/etc/k/config.yaml", (FIXTURES / "kubelet-config.yaml").read_text())
    result = facts.result()
    assert result["roles"] == ["kube_node"]
    assert result["ports"] == {"kubelet": 10260}
    assert result["port_origins"]["kubelet"] == "/etc/k/config.yaml port"


def test_a_static_pod_wins_over_its_own_process():
    facts = control_plane()
    facts.add_process(100, ["kube-apiserver", "--secure-port=9999"])
    assert facts.result()["ports"]["apiserver"] == 8443


@pytest.mark.parametrize("argv, roles, ports", [
    (["/usr/local/bin/kube-apiserver", "--secure-port=7443", "--etcd-servers=https://10.0.0.1:2379"],
     ["kube_control_plane"], {"apiserver": 7443}),
    (["etcd", "--listen-client-urls", "http://0.0.0.0:2479", "--listen-peer-urls=http://0.0.0.0:2480"],
     ["etcd"], {"etcd_client": 2479, "etcd_peer": 2480}),
    (["k3s", "server", "--https-listen-port=6444", "--cluster-init"], ["kube_control_plane", "etcd"], {"apiserver": 6444}),
    (["/usr/local/bin/k3s server"], ["kube_control_plane"], {}),      # a process that rewrote its title
    (["k3s", "agent", "--server", "https://10.0.0.1:6443"], ["kube_node"], {}),
    (["kube-proxy", "--proxy-mode=ipvs"], [], {}),
    (["sleep", "infinity"], [], {}),
])
def test_binary_installs_from_processes(argv, roles, ports):
    facts = k8s.KubernetesFacts()
    facts.add_process(1, argv)
    assert facts.result()["roles"] == roles
    assert facts.result()["ports"] == ports


def test_flags_parsing():
    assert k8s.flags_from_args(["--a=1", "--b", "2", "--c", "--d=x=y"]) == {"--a": "1", "--b": "2", "--c": "", "--d": "x=y"}
    assert kube_flags.ports_from_urls("https://127.0.0.1:2379,https://[fd00::1]:2379,unix://etcd") == [2379]


def test_json_manifest_and_unknown_file_names():
    pod = {"spec": {"containers": [{"command": ["kube-scheduler"], "args": ["--secure-port=10999"]}]}}
    facts = k8s.KubernetesFacts()
    assert facts.add_manifest("/m/sched.json", json.dumps(pod)) == "kube-scheduler"
    assert facts.result()["ports"] == {"scheduler": 10999}
    assert facts.add_manifest("/m/haproxy.yaml", "spec:\n  containers:\n  - command:\n    - haproxy\n") is None
    assert facts.add_manifest("/m/etcd.yaml", "spec: {}\n") == "etcd"      # named by its file


def test_malformed_json_manifest_raises_value_error():
    with pytest.raises(ValueError):
        k8s.parse_manifest("{ not json")


def test_kubelet_config_port():
    assert k8s.kubelet_config_port(parse("kind: KubeletConfiguration\nport: 10255\n")) == 10255
    assert k8s.kubelet_config_port(parse("authentication:\n  port: 1\n")) is None        # nested, not top-level
    assert k8s.kubelet_config_port(parse('{"kind": "KubeletConfiguration", "port": 10256}')) == 10256


def test_the_pod_and_service_networks_from_the_components_flags():
    result = control_plane().result()
    assert result["networks"] == {"pod_cidrs": ["10.244.0.0/16"], "service_cidrs": ["10.96.0.0/12"]}
    assert result["network_origins"]["service_cidrs"] == \
        "/etc/kubernetes/manifests/kube-apiserver.yaml --service-cluster-ip-range"
    assert result["network_origins"]["pod_cidrs"] == \
        "/etc/kubernetes/manifests/kube-controller-manager.yaml --cluster-cidr"


def test_dual_stack_networks_from_a_k3s_server_and_kube_proxy_flags():
    facts = k8s.KubernetesFacts()
    facts.add_process(400, ["/usr/local/bin/k3s", "server", "--cluster-cidr=10.52.0.0/16,fd00:52::/56",
                            "--service-cidr", "10.53.0.0/16,fd00:53::/112"])
    result = facts.result()
    assert result["networks"] == {"pod_cidrs": ["10.52.0.0/16", "fd00:52::/56"],
                                  "service_cidrs": ["10.53.0.0/16", "fd00:53::/112"]}
    assert result["network_origins"]["service_cidrs"] == "process 400 (k3s) --service-cidr"
    worker = k8s.KubernetesFacts()
    worker.add_process(77, ["kube-proxy", "--cluster-cidr=10.61.0.0/17", "--proxy-mode=ipvs"])
    assert worker.result()["networks"] == {"pod_cidrs": ["10.61.0.0/17"]}


K3S_CONFIG = """\
# /etc/rancher/k3s/config.yaml as a user writes it
https-listen-port: 7443
cluster-init: true
cluster-cidr: "10.52.0.0/16"
service-cidr:
  - 10.53.0.0/16
  - fd00:53::/112
write-kubeconfig-mode: "0644"
disable: [traefik, servicelb]
"""


def config_flags(text):
    """A k3s config file as {flag: value}, false flags (None: off) left out."""
    return dict((flag, value) for flag, value, _append in k8s.supervisor_config_flags(parse(text)) if value is not None)


def test_flat_config_files_read_as_flags():
    flags = config_flags(K3S_CONFIG + "secrets-encryption: false\nnode-label:\n  - a=b\n")
    assert flags == {"--https-listen-port": "7443", "--cluster-init": "", "--cluster-cidr": "10.52.0.0/16",
                     "--service-cidr": "10.53.0.0/16,fd00:53::/112", "--write-kubeconfig-mode": "0644",
                     "--disable": "traefik,servicelb", "--node-label": "a=b"}


def test_a_k3s_server_takes_what_its_command_line_lacks_from_config_yaml_and_its_drop_ins():
    facts = k8s.KubernetesFacts()
    facts.add_supervisor_config("k3s", "/etc/rancher/k3s/config.yaml", K3S_CONFIG)
    facts.add_supervisor_config("k3s", "/etc/rancher/k3s/config.yaml.d/50-nodeports.yaml",
                                "service-node-port-range: 31000-31999\nhttps-listen-port: 8443\n")
    facts.add_process(500, ["/usr/local/bin/k3s", "server", "--https-listen-port=9443"])
    result = facts.result()
    assert result["distribution"] == "k3s" and result["k3s"] == "server"
    assert result["roles"] == ["kube_control_plane", "etcd"]          # cluster-init from the file
    assert result["ports"]["apiserver"] == 9443                      # the command line wins
    assert result["port_origins"]["apiserver"] == "process 500 (k3s) --https-listen-port"
    assert result["ports"]["nodeport_range"] == "31000-31999"
    assert result["port_origins"]["nodeport_range"] == \
        "/etc/rancher/k3s/config.yaml.d/50-nodeports.yaml service-node-port-range"
    assert result["networks"]["service_cidrs"] == ["10.53.0.0/16", "fd00:53::/112"]
    assert result["network_origins"]["pod_cidrs"] == "/etc/rancher/k3s/config.yaml cluster-cidr"


def test_rke2_servers_run_the_supervisor_and_etcd_agents_only_the_kubelet():
    server = k8s.KubernetesFacts()
    server.add_supervisor_config("rke2", "/etc/rancher/rke2/config.yaml", "cni: canal\ncluster-cidr: 10.62.0.0/16\n")
    server.add_process(610, ["/usr/local/bin/rke2", "server"])
    result = server.result()
    assert result["distribution"] == "rke2" and result["k3s"] is None
    assert result["roles"] == ["kube_control_plane", "etcd"]
    assert result["features"] == ["rke2_supervisor"]
    assert result["networks"] == {"pod_cidrs": ["10.62.0.0/16"]}
    agent = k8s.KubernetesFacts()
    agent.add_supervisor_config("rke2", "/etc/rancher/rke2/config.yaml", "server: https://10.0.0.1:9345\n")
    agent.add_process(620, ["rke2", "agent"])
    assert agent.result()["roles"] == ["kube_node"] and agent.result()["features"] == []
    # a k3s config on the same node is not an RKE2 one
    assert server.configs.keys() == {"rke2"}


K0S_YAML = """\
apiVersion: k0s.k0sproject.io/v1beta1
kind: ClusterConfig
metadata:
  name: k0s
spec:
  api:
    address: 10.0.0.11
    port: 7443
    k0sApiPort: 9553
    sans:
      - 10.0.0.11
    extraArgs:
      service-node-port-range: 32000-32500
  konnectivity:
    adminPort: 8133
    agentPort: 8232
  network:
    provider: kuberouter
    podCIDR: 10.72.0.0/16
    serviceCIDR: 10.73.0.0/16
    controlPlaneLoadBalancing:
      enabled: true
      type: Keepalived
  storage:
    type: etcd
"""


def test_nested_yaml_scalars_by_their_dotted_path():
    values = dotted_scalars(parse(K0S_YAML))
    assert values["spec.api.port"] == "7443" and values["spec.konnectivity.agentPort"] == "8232"
    assert values["spec.network.controlPlaneLoadBalancing.enabled"] == "true"
    assert values["spec.api.extraArgs.service-node-port-range"] == "32000-32500"
    assert "spec.api.sans" not in values and values["metadata.name"] == "k0s"


def test_a_k0s_controller_from_its_process_and_k0s_yaml():
    facts = k8s.KubernetesFacts()
    facts.add_k0s_config("/etc/k0s/k0s.yaml", K0S_YAML)
    facts.add_process(700, ["/usr/local/bin/k0s", "controller", "--config=/etc/k0s/k0s.yaml"])
    result = facts.result()
    assert result["distribution"] == "k0s"
    assert result["roles"] == ["kube_control_plane", "etcd"]       # no --enable-worker: no kubelet
    assert "kubelet" not in result["components"]
    assert result["features"] == ["k0s_controller", "k0s_cplb"]
    assert result["ports"] == {"apiserver": 7443, "k0s_api": 9553, "konnectivity": 8232,
                               "nodeport_range": "32000-32500"}
    assert result["port_origins"]["konnectivity"] == "/etc/k0s/k0s.yaml spec.konnectivity.agentPort"
    assert result["networks"] == {"pod_cidrs": ["10.72.0.0/16"], "service_cidrs": ["10.73.0.0/16"]}
    # the API server k0s starts shows its real flag, which wins over the file
    facts.add_process(701, ["/var/lib/k0s/bin/kube-apiserver", "--secure-port=7444"])
    assert facts.result()["ports"]["apiserver"] == 7444


def test_a_k0s_worker_and_a_controller_that_also_runs_pods():
    worker = k8s.KubernetesFacts()
    worker.add_process(710, ["k0s", "worker", "--token-file=/etc/k0s/token"])
    assert worker.result()["roles"] == ["kube_node"] and worker.result()["features"] == []
    both = k8s.KubernetesFacts()
    both.add_k0s_config("/etc/k0s/k0s.yaml", "spec:\n  storage:\n    type: kine\n")
    both.add_process(720, ["k0s", "controller", "--enable-worker"])
    result = both.result()
    assert result["roles"] == ["kube_control_plane"]                  # kine: no etcd
    # it runs pods: k0s's default network provider (kube-router) with them
    assert "kubelet" in result["components"] and result["features"] == ["k0s_controller", "kube_router"]
    assert result["absent_features"] == {"etcd": "/etc/k0s/k0s.yaml spec.storage.type is kine: no etcd"}


def test_a_k0s_controller_alone_runs_no_kubelet_and_serves_no_nodeport():
    facts = k8s.KubernetesFacts()
    facts.add_process(740, ["k0s", "controller", "--config", "/etc/k0s/k0s.yaml"])
    result = facts.result()
    assert result["roles"] == ["kube_control_plane", "etcd"] and "kubelet" not in result["components"]
    assert sorted(result["absent_features"]) == ["k8s_nodeport", "kubelet"]
    assert "without --enable-worker" in result["absent_features"]["kubelet"]


def test_k3s_embedded_registry_from_a_server_and_its_p2p_port_from_the_environment():
    server = k8s.KubernetesFacts()
    server.add_supervisor_config("k3s", "/etc/rancher/k3s/config.yaml", "embedded-registry: true\n")
    assert server.add_process(750, ["k3s", "server"]) == "k3s"
    server.add_supervisor_environment(750, "k3s", {"K3S_P2P_PORT": "5101", "PATH": "/usr/bin"})
    result = server.result()
    assert "k3s_embedded_registry" in result["features"]
    assert result["ports"]["k3s_spegel_p2p"] == 5101
    assert result["port_origins"]["k3s_spegel_p2p"] == "process 750 (k3s) environment K3S_P2P_PORT"
    # the flag is a server's: an agent does not show it (the planner shares it cluster-wide)
    agent = k8s.KubernetesFacts()
    agent.add_process(751, ["k3s", "agent", "--server", "https://10.0.0.1:6443"])
    agent.add_supervisor_environment(751, "k3s", {})
    assert agent.result()["features"] == [] and agent.result()["ports"] == {}
    assert server.result()["flannel_backend"] is None          # k3s's default: the devices tell
    off = k8s.KubernetesFacts()
    off.add_supervisor_config("k3s", "/etc/rancher/k3s/config.yaml", "embedded-registry: false\n")
    off.add_process(752, ["k3s", "server"])
    assert "k3s_embedded_registry" not in off.result()["features"]
    # neither --cluster-init nor --server: SQLite, no etcd to admit
    assert off.result()["roles"] == ["kube_control_plane"] and "SQLite" in off.result()["absent_features"]["etcd"]


def test_k3s_flannel_backend_from_the_command_line_or_config():
    facts = k8s.KubernetesFacts()
    facts.add_supervisor_config("k3s", "/etc/rancher/k3s/config.yaml", "flannel-backend: wireguard-native\n")
    facts.add_process(760, ["k3s", "server"])
    assert facts.result()["flannel_backend"] == ["wireguard", "/etc/rancher/k3s/config.yaml flannel-backend"]
    flag = k8s.KubernetesFacts()
    flag.add_process(761, ["k3s", "server", "--flannel-backend=none", "--disable-network-policy"])
    assert flag.result()["flannel_backend"] == [None, "process 761 (k3s) --flannel-backend"]


def test_kube_router_from_its_flags():
    facts = k8s.KubernetesFacts()
    facts.add_process(730, ["/usr/local/bin/kube-router", "--run-router=true", "--bgp-port=1790",
                            "--overlay-encap=fou", "--overlay-encap-port", "5656"])
    result = facts.result()
    assert result["features"] == ["kube_router", "kube_router_fou"]
    assert result["ports"] == {"kube_router_bgp": 1790, "kube_router_fou": 5656}
    plain = k8s.KubernetesFacts()
    plain.add_process(731, ["kube-router", "--run-router=true"])
    assert plain.result()["features"] == ["kube_router"] and plain.result()["ports"] == {}


MICROK8S = Path(__file__).resolve().parents[3] / "fixtures" / "microk8s"


def microk8s_args(*names):
    return dict((name, (MICROK8S / name).read_text()) for name in names)


def test_a_microk8s_control_plane_from_its_args_files_and_dqlite():
    facts = k8s.KubernetesFacts()
    facts.add_microk8s(microk8s_args("kube-apiserver", "kubelet", "kube-proxy", "cluster-agent", "etcd"), worker=False,
                       dqlite_info=(MICROK8S / "info.yaml").read_text())
    result = facts.result()
    assert result["distribution"] == "microk8s"
    assert result["roles"] == ["kube_control_plane"]                  # dqlite: the etcd file is a leftover
    assert result["features"] == ["microk8s", "microk8s_dqlite", "kubelet_readonly"]
    assert result["ports"] == {"apiserver": 16543, "nodeport_range": "30500-30999", "kubelet": 10350,
                               "kubelet_readonly": 10355, "microk8s_cluster_agent": 25100, "microk8s_dqlite": 19101}
    assert result["port_origins"]["apiserver"] == "/var/snap/microk8s/current/args/kube-apiserver --secure-port"
    assert result["port_origins"]["microk8s_dqlite"] == \
        "/var/snap/microk8s/current/var/kubernetes/backend/info.yaml Address"
    assert result["networks"] == {"pod_cidrs": ["10.1.0.0/16"], "service_cidrs": ["10.152.183.0/24"]}
    assert "dqlite" in result["absent_features"]["etcd"]


def test_a_microk8s_worker_runs_only_the_kubelet_and_an_etcd_node_is_one():
    worker = k8s.KubernetesFacts()
    worker.add_microk8s(microk8s_args("kube-apiserver", "kubelet", "kube-proxy", "cluster-agent"), worker=True,
                        dqlite_info=(MICROK8S / "info.yaml").read_text())
    result = worker.result()
    assert result["roles"] == ["kube_node"] and result["features"] == ["microk8s", "kubelet_readonly"]
    assert "apiserver" not in result["ports"] and "microk8s_dqlite" not in result["ports"]
    legacy = k8s.KubernetesFacts()
    legacy.add_microk8s(microk8s_args("kube-apiserver", "kubelet", "etcd"), worker=False)
    assert legacy.result()["roles"] == ["kube_control_plane", "etcd"]
    assert legacy.result()["ports"]["etcd_client"] == 12379
    nothing = k8s.KubernetesFacts()
    nothing.add_microk8s({}, worker=False)
    assert nothing.result()["distribution"] is None


def test_the_kubelets_read_only_port_only_when_set():
    facts = k8s.KubernetesFacts()
    facts.add_kubelet_config("/var/lib/kubelet/config.yaml", "kind: KubeletConfiguration\nport: 10250\nreadOnlyPort: 0\n")
    assert "kubelet_readonly" not in facts.result()["features"] and "kubelet_readonly" not in facts.result()["ports"]
    on = k8s.KubernetesFacts()
    on.add_kubelet_config("/var/lib/kubelet/config.yaml", '{"kind": "KubeletConfiguration", "readOnlyPort": 10255}')
    assert on.result()["features"] == ["kubelet_readonly"] and on.result()["ports"] == {"kubelet_readonly": 10255}
    assert on.result()["port_origins"]["kubelet_readonly"] == "/var/lib/kubelet/config.yaml readOnlyPort"
    flag = k8s.KubernetesFacts()
    flag.add_process(770, ["kubelet", "--read-only-port=10266"])
    assert flag.result()["ports"] == {"kubelet_readonly": 10266}


def test_k3s_vpn_auth_puts_flannel_over_tailscale_on_servers_and_agents():
    for argv in (["k3s", "server", "--vpn-auth-file", "/etc/k3s-vpn"], ["k3s", "agent", "--vpn-auth=name=tailscale"]):
        facts = k8s.KubernetesFacts()
        facts.add_process(760, argv)
        assert facts.result()["flannel_backend"][0] == "tailscale", argv
        assert "name=tailscale" not in str(facts.result())
    env = k8s.KubernetesFacts()
    env.add_process(761, ["k3s", "agent"], [({"K3S_VPN_AUTH": "name=tailscale,joinKey=tskey-secret"}, "k3s-agent.env")])
    assert env.result()["flannel_backend"] == ["tailscale", "k3s-agent.env K3S_VPN_AUTH"]
    assert "tskey-secret" not in str(env.result())


def k0s_yaml(name):
    return (FIXTURES.parent / "k0s" / name).read_text()


def test_k0s_network_provider_from_k0s_yaml():
    """issue 35, item 4: the provider from the file, not only once its pod's process runs."""
    single = k8s.KubernetesFacts()
    single.add_k0s_config("/etc/k0s/k0s.yaml", k0s_yaml("k0s.yaml"))
    single.add_process(770, ["k0s", "controller", "--single"])
    result = single.result()
    assert "kube_router" in result["features"]
    assert result["network_provider"] == ["kuberouter", "/etc/k0s/k0s.yaml spec.network.provider"]
    calico = k8s.KubernetesFacts()
    calico.add_k0s_config("/etc/k0s/k0s.yaml", k0s_yaml("k0s.calico.yaml"))
    calico.add_process(771, ["k0s", "controller", "--enable-worker"])
    result = calico.result()
    assert {"calico_vxlan", "calico_health"} <= set(result["features"]) and "kube_router" not in result["features"]
    assert result["ports"]["calico_vxlan"] == 4790
    assert result["port_origins"]["calico_vxlan"] == "/etc/k0s/k0s.yaml spec.network.calico.vxlanPort"
    alone = k8s.KubernetesFacts()                    # a controller alone runs no CNI
    alone.add_k0s_config("/etc/k0s/k0s.yaml", k0s_yaml("k0s.calico.yaml"))
    alone.add_process(772, ["k0s", "controller"])
    assert not {"calico_vxlan", "kube_router"} & set(alone.result()["features"])
    custom = k8s.KubernetesFacts()
    custom.add_k0s_config("/etc/k0s/k0s.yaml", k0s_yaml("k0s.yaml").replace("provider: kuberouter", "provider: custom"))
    custom.add_process(773, ["k0s", "controller", "--single"])
    assert "kube_router" not in custom.result()["features"] and "custom" in custom.result()["notes"][0]
