# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The distributions' own files with non-default values everywhere, read as the distribution
reads them (tests/unit/fixtures/README.md names each file's source): RKE2's environment files
and a config path given by RKE2_CONFIG_FILE, k3s's --config/-c with drop-ins beside it, k0s's
-c; then from the gathered facts through the profile to the plan."""
from __future__ import annotations

import json

from test_gather_cni import FIXTURES, TOKEN, GatherModule, node_file, node_paths

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect import kubernetes as detect_kubernetes
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect import supervisor as detect_supervisor
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.gather import cni as gather_cni
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.inventory import build_inventory
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.plan import compile_plan
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.profile import build_profile
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.verify import evaluate


def process(tmp_path, pid, argv, unit, environ=b"PATH=/usr/bin\0"):
    proc = tmp_path / "proc" / str(pid)
    proc.mkdir(parents=True)
    (proc / "cmdline").write_bytes(b"\0".join(word.encode() for word in argv) + b"\0")
    (proc / "cgroup").write_text("0::/system.slice/%s\n" % unit)
    if environ is not None:
        (proc / "environ").write_bytes(environ)


def fixture(tmp_path, name):
    """A fixture's text, its /opt and /srv paths moved under tmp_path as node_file moves the files."""
    text = (FIXTURES / name).read_text()
    return text.replace("/opt/", str(tmp_path) + "/opt/").replace("/srv/", str(tmp_path) + "/srv/")


def rke2_server(tmp_path, monkeypatch, cni_config=True, environ=b"PATH=/usr/bin\0"):
    """An RKE2 server installed from the tarball: its unit's environment files (/etc/default/
    rke2-server: RKE2_CNI, RKE2_TOKEN and a variable RKE2 does not read; the tarball's
    rke2-server.env with RKE2_CONFIG_FILE), the config file that names and its drop-in, a config
    at the default path that RKE2 then does not read, and Cilium's CNI config."""
    process(tmp_path, 610, ["/usr/local/bin/rke2", "server"], "rke2-server.service", environ)
    node_file(tmp_path, "/etc/default/rke2-server", fixture(tmp_path, "rke2/rke2-server.default"))
    node_file(tmp_path, "/usr/local/lib/systemd/system/rke2-server.env", fixture(tmp_path, "rke2/rke2-server.env"))
    node_file(tmp_path, "/opt/rke2/etc/config.yaml", fixture(tmp_path, "rke2/config.yaml"))
    node_file(tmp_path, "/opt/rke2/etc/config.yaml.d/50-dual-stack.yaml",
              fixture(tmp_path, "rke2/config.yaml.d/50-dual-stack.yaml"))
    node_file(tmp_path, "rke2/config.yaml", "cluster-cidr: 10.42.0.0/16\nservice-node-port-range: 30000-32767\n")
    if cni_config:
        node_file(tmp_path, "net.d/05-cilium.conflist", (FIXTURES / "cni" / "05-cilium.conf").read_text())
    node_paths(tmp_path, monkeypatch)
    return gather_cni.gather(GatherModule(tmp_path))


def test_rke2_environment_files_name_its_config_and_cni_and_keep_its_token(tmp_path, monkeypatch):
    facts = rke2_server(tmp_path, monkeypatch)
    kubernetes = facts["kubernetes"]
    config = str(tmp_path) + "/opt/rke2/etc/config.yaml"
    assert kubernetes["distribution"] == "rke2" and kubernetes["roles"] == ["kube_control_plane", "etcd"]
    # the file RKE2_CONFIG_FILE names, and its drop-in's `key+` appended; not /etc/rancher/rke2/config.yaml
    assert kubernetes["networks"] == {"pod_cidrs": ["10.62.0.0/16", "fd00:62::/56"],
                                      "service_cidrs": ["10.63.0.0/16", "fd00:63::/112"]}
    assert kubernetes["network_origins"]["pod_cidrs"] == config + ".d/50-dual-stack.yaml cluster-cidr"
    assert kubernetes["ports"]["nodeport_range"] == "31000-31500"
    assert kubernetes["port_origins"]["nodeport_range"] == config + " service-node-port-range"
    assert kubernetes["supervisor_cni"] == [["multus", "cilium"], str(tmp_path) + "/etc/default/rke2-server RKE2_CNI"]
    assert facts["cni"]["kind"] == "cilium"
    assert not [note for note in facts["derived"]["notes"] if note.startswith("rke2:")]
    # RKE2_CLUSTER_CIDR stands for no flag of RKE2's: not read; the token and the proxy never leave
    assert "10.99.0.0/16" not in json.dumps(facts)
    assert TOKEN not in json.dumps(facts) and "proxy.example" not in json.dumps(facts)
    assert [text for text in facts["problems"] if "ip not found" not in text] == []


def test_rke2_process_environment_wins_over_its_files(tmp_path, monkeypatch):
    environ = b"RKE2_CNI=canal\0RKE2_TOKEN=" + TOKEN.encode() + b"-from-the-process\0"
    facts = rke2_server(tmp_path, monkeypatch, environ=environ)
    assert facts["kubernetes"]["supervisor_cni"] == [["canal"], "process 610 (rke2) environment RKE2_CNI"]
    note = [text for text in facts["derived"]["notes"] if text.startswith("rke2:")]
    assert len(note) == 1 and "names canal but the node's CNI config is cilium" in note[0]
    assert facts["cni"]["kind"] == "cilium"                        # the config on the node wins
    assert TOKEN not in json.dumps(facts)


def test_rke2_cni_before_its_config_is_written_is_planned_with_a_note(tmp_path, monkeypatch):
    facts = rke2_server(tmp_path, monkeypatch, cni_config=False)
    assert facts["cni"]["kind"] == "cilium"
    assert "cilium_vxlan" in facts["derived"]["features"]          # Cilium's default, said in a note
    assert any(text.startswith("rke2: no CNI config") and "RKE2_CNI" in text for text in facts["derived"]["notes"])


def test_rke2_cni_key_as_a_string_a_list_or_none():
    for text, names in (("cni: cilium\n", ["cilium"]), ("cni: [multus, calico]\n", ["multus", "calico"]),
                        ("cni:\n  - multus\n  - canal\n", ["multus", "canal"]), ("", ["canal"])):
        facts = detect_kubernetes.KubernetesFacts()
        facts.add_supervisor_config("rke2", "/etc/rancher/rke2/config.yaml", text)
        facts.add_process(1, ["rke2", "server"])
        assert facts.result()["supervisor_cni"][0] == names, text
    assert detect_supervisor.rke2_cni_notes({"kind": None}, (["none"], "c cni"))[0] is None
    assert "you installed" in detect_supervisor.rke2_cni_notes({"kind": None}, (["none"], "c cni"))[1][0]
    # an agent deploys no CNI: nothing said
    agent = detect_kubernetes.KubernetesFacts()
    agent.add_process(2, ["rke2", "agent"])
    assert agent.result()["supervisor_cni"] is None


def test_rke2_environment_files_follow_the_units_prefix_and_order():
    groups = detect_supervisor.environment_files("rke2", "agent", "rke2-agent.service", "/opt/rke2/bin/rke2")
    assert groups == [["/etc/default/rke2-agent"], ["/etc/sysconfig/rke2-agent"],
                      ["/opt/rke2/lib/systemd/system/rke2-agent.env"]]
    unknown = detect_supervisor.environment_files("rke2", "server", None, "rke2")
    assert unknown[2] == ["/usr/local/lib/systemd/system/rke2-server.env", "/opt/rke2/lib/systemd/system/rke2-server.env",
                          "/usr/lib/systemd/system/rke2-server.env"]
    k3s_agent = detect_supervisor.environment_files("k3s", "agent")
    assert k3s_agent == [["/etc/default/k3s-agent"], ["/etc/sysconfig/k3s-agent"],
                         ["/etc/systemd/system/k3s-agent.service.env", "/etc/rancher/k3s/k3s-agent.env"]]


def test_the_config_variable_wins_over_the_flag_and_the_flag_over_the_default():
    env = [({"RKE2_CONFIG_FILE": "/a.yaml"}, "/etc/default/rke2-server")]
    assert detect_supervisor.config_path("rke2", {"--config": "/b.yaml"}, env) == \
        ("/a.yaml", "/etc/default/rke2-server RKE2_CONFIG_FILE")
    assert detect_supervisor.config_path("rke2", {"--config": "/b.yaml"}, []) == ("/b.yaml", "--config")
    assert detect_supervisor.config_path("k3s", {}, []) == ("/etc/rancher/k3s/config.yaml", None)
    assert detect_supervisor.command_flags(["k3s", "server", "-c", "/c.yaml", "-s", "https://s:6443"]) == \
        {"--config": "/c.yaml", "--server": "https://s:6443"}


def k3s_server_with_config_flag(tmp_path, monkeypatch):
    """k3s started with -c /srv/k3s/config.yaml (its unit's ExecStart), drop-ins beside that file,
    and /etc/default/k3s with variables k3s does not read."""
    config = str(tmp_path) + "/srv/k3s/config.yaml"
    process(tmp_path, 700, ["/usr/local/bin/k3s", "server", "-c", config], "k3s.service")
    node_file(tmp_path, "/srv/k3s/config.yaml", fixture(tmp_path, "k3s/srv/config.yaml"))
    for name in ("10-ports.yaml", "20-override.yml"):
        node_file(tmp_path, "/srv/k3s/config.yaml.d/" + name, fixture(tmp_path, "k3s/srv/config.yaml.d/" + name))
    node_file(tmp_path, "/etc/default/k3s", fixture(tmp_path, "k3s/k3s.default"))
    node_file(tmp_path, "k3s/config.yaml", "https-listen-port: 6443\n")        # the default path: not read
    node_paths(tmp_path, monkeypatch)
    return gather_cni.gather(GatherModule(tmp_path)), config


def test_k3s_config_flag_and_its_drop_ins_in_name_order(tmp_path, monkeypatch):
    facts, config = k3s_server_with_config_flag(tmp_path, monkeypatch)
    kubernetes = facts["kubernetes"]
    assert kubernetes["roles"] == ["kube_control_plane", "etcd"]                 # cluster-init in the file
    assert kubernetes["ports"]["apiserver"] == 7443                              # not K3S_HTTPS_LISTEN_PORT
    assert kubernetes["ports"]["nodeport_range"] == "32100-32200"                # the later drop-in wins
    assert kubernetes["port_origins"]["nodeport_range"] == config + ".d/20-override.yml service-node-port-range"
    assert kubernetes["networks"]["pod_cidrs"] == ["10.52.0.0/16"]
    assert "10.99.0.0/16" not in json.dumps(facts)


def test_a_config_given_as_a_url_is_said_not_guessed(tmp_path, monkeypatch):
    process(tmp_path, 710, ["/usr/local/bin/k3s", "server", "--config=https://config.example/k3s.yaml"], "k3s.service")
    node_paths(tmp_path, monkeypatch)
    facts = gather_cni.gather(GatherModule(tmp_path))
    assert any("is a URL (https" in text and "--config" in text for text in facts["problems"]), facts["problems"]


def test_rke2_data_dir_moves_the_static_pods_that_are_read(tmp_path, monkeypatch):
    """--data-dir (here RKE2_DATA_DIR in /etc/sysconfig/rke2-server): the manifests are read from
    DATA_DIR/agent/pod-manifests (the API server's non-default --secure-port from there)."""
    data = str(tmp_path) + "/srv/rke2-data"
    process(tmp_path, 620, ["/usr/local/bin/rke2", "server"], "rke2-server.service")
    node_file(tmp_path, "/etc/sysconfig/rke2-server", "RKE2_DATA_DIR=%s\n" % data)
    node_file(tmp_path, "/srv/rke2-data/agent/pod-manifests/kube-apiserver.yaml",
              (FIXTURES / "manifests" / "kube-apiserver.yaml").read_text())
    node_paths(tmp_path, monkeypatch)
    kubernetes = gather_cni.gather(GatherModule(tmp_path))["kubernetes"]
    assert kubernetes["ports"]["apiserver"] == 8443
    assert kubernetes["port_origins"]["apiserver"] == data + "/agent/pod-manifests/kube-apiserver.yaml --secure-port"


# ------------------------------------------------------------------ to the plan

ADDRESSES = {"s1": "10.8.0.1", "a1": "10.8.0.2"}


def plan_from_facts(name, facts, groups):
    """The facts role's profile of the detected node, the inventory of both, the node's plan."""
    hostvars = {}
    for host, address in ADDRESSES.items():
        profile = build_profile(host, [], cni=facts) if host == name else build_profile(host, groups.get(host, []))
        hostvars[host] = {"microseg_node_addresses": [address], "microseg_profile": profile}
    inventory = build_inventory(hostvars, {"all": sorted(ADDRESSES), "rke2_agents": ["a1"]})
    profile = hostvars[name]["microseg_profile"]
    node = {"name": name, "features": profile["features"], "absent_features": profile["absent_features"],
            "ports": profile["ports"], "port_origins": profile["port_origins"], "notes": profile["notes"]}
    return compile_plan(node, inventory, {"mode": "host", "state": "block"}), profile


def test_rke2_environment_and_drop_in_reach_the_plan(tmp_path, monkeypatch):
    facts = rke2_server(tmp_path, monkeypatch, cni_config=False)
    plan, profile = plan_from_facts("s1", facts, {"a1": ["rke2_agents"]})
    assert profile["roles"] == ["etcd", "kube_control_plane"]
    assert profile["pod_cidrs"] == ["10.62.0.0/16", "fd00:62::/56"]
    assert evaluate(plan, "10.8.0.2", "tcp", 9345) == "accept"           # the agent reaches the supervisor
    assert evaluate(plan, "192.0.2.7", "tcp", 9345) == "drop"
    assert evaluate(plan, "10.62.4.5", "tcp", 6443) == "accept"          # pods (the drop-in's CIDRs) reach the API
    assert evaluate(plan, "192.0.2.7", "tcp", 31200) == "accept"         # the NodePort range the file sets
    assert evaluate(plan, "192.0.2.7", "tcp", 30080) == "drop"           # not the default range
    assert evaluate(plan, "10.8.0.2", "udp", 8472) == "accept"           # Cilium's VXLAN, from RKE2_CNI
    assert any(note["text"].startswith("rke2: no CNI config") for note in plan["notes"])


def test_k3s_drop_ins_reach_the_plan(tmp_path, monkeypatch):
    facts, _config = k3s_server_with_config_flag(tmp_path, monkeypatch)
    plan, profile = plan_from_facts("s1", facts, {"a1": ["rke2_agents"]})
    assert profile["ports"]["apiserver"] == 7443
    assert evaluate(plan, "10.8.0.2", "tcp", 7443) == "accept" and evaluate(plan, "10.8.0.2", "tcp", 6443) == "drop"
    assert evaluate(plan, "192.0.2.7", "tcp", 32150) == "accept" and evaluate(plan, "192.0.2.7", "tcp", 32050) == "drop"
    assert evaluate(plan, "10.52.0.9", "tcp", 7443) == "accept"          # its pods reach the API server


# ------------------------------------------------------------------ k0s

K0S_DUAL_STACK = """\
apiVersion: k0s.k0sproject.io/v1beta1
kind: ClusterConfig
spec:
  api:
    port: 7443
  network:
    podCIDR: 10.244.0.0/16
    serviceCIDR: 10.96.0.0/12
    dualStack:
      enabled: true
      IPv6podCIDR: fd00::/108
      IPv6serviceCIDR: fd01::/108
"""


def test_k0s_config_from_its_short_flag_with_dual_stack_networks(tmp_path, monkeypatch):
    """docs.k0sproject.io dual-stack's example, at a path given with -c (k0s install controller -c)."""
    config = str(tmp_path) + "/srv/k0s/k0s.yaml"
    process(tmp_path, 720, ["/usr/local/bin/k0s", "controller", "-c", config, "--enable-worker"], "k0scontroller.service")
    node_file(tmp_path, "/srv/k0s/k0s.yaml", K0S_DUAL_STACK)
    node_file(tmp_path, "k0s.yaml", "spec:\n  api:\n    port: 6443\n")          # the default path: not read
    node_paths(tmp_path, monkeypatch)
    kubernetes = gather_cni.gather(GatherModule(tmp_path))["kubernetes"]
    assert kubernetes["ports"]["apiserver"] == 7443
    assert kubernetes["networks"] == {"pod_cidrs": ["10.244.0.0/16", "fd00::/108"],
                                      "service_cidrs": ["10.96.0.0/12", "fd01::/108"]}
    assert kubernetes["network_origins"]["pod_cidrs"] == \
        config + " spec.network.podCIDR and spec.network.dualStack.IPv6podCIDR"
    # dual-stack off: the IPv6 halves are not the cluster's
    single = detect_kubernetes.KubernetesFacts()
    single.add_k0s_config("/etc/k0s/k0s.yaml", K0S_DUAL_STACK.replace("enabled: true", "enabled: false"))
    single.add_process(721, ["k0s", "controller"])
    assert single.result()["networks"] == {"pod_cidrs": ["10.244.0.0/16"], "service_cidrs": ["10.96.0.0/12"]}
