#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cni_facts
short_description: Read what Kubernetes and its CNI run on a node, and on which ports
version_added: 0.1.0
author: microseg.cluster_firewall maintainers (@microseg)
description:
  - "Kubernetes role: control plane when kube-apiserver runs (static pod manifest, or process for
    k3s, rke2 and binary installs), etcd when etcd does, worker when only the kubelet does."
  - "Real ports from the node's configuration: kube-apiserver C(--secure-port) and
    C(--service-node-port-range), etcd C(--listen-client-urls) and C(--listen-peer-urls),
    kube-scheduler and kube-controller-manager C(--secure-port), kubelet C(--port) or C(port) in
    its config file (C(--config), default C(/var/lib/kubelet/config.yaml)). Absent flags mean the
    upstream default, which the planner applies."
  - "CNI: the lexicographically first C(.conf), C(.conflist) or C(.json) in O(cni_conf_dir) and
    its first plugin's type: flannel, calico, canal, cilium, weave or other."
  - "flannel: the pod network from O(flannel_subnet_env); the backend and its real port from the
    devices (C(flannel.VNI) vxlan with its dstport, C(flannel0) udp, C(flannel-wg) wireguard,
    C(flannel.ipip) ipip, none host-gw), and from O(flannel_net_conf) when readable."
  - "Calico: from the calico-node process environment and devices - networking backend, IPIP and
    VXLAN modes, C(FELIX_VXLANPORT), WireGuard, Typha, the pool CIDR."
  - kube-proxy's mode (iptables, ipvs via C(kube-ipvs0), nftables via the C(kube-proxy) nft table).
  - Every value says where it was read. A file that cannot be read or parsed gives a warning
    naming it; the module still returns every other fact.
options:
  cni_conf_dir:
    description: The CNI configuration directory.
    type: path
    default: /etc/cni/net.d
  manifest_dirs:
    description: Directories of static pod manifests (kubeadm, rke2).
    type: list
    elements: path
    default: [/etc/kubernetes/manifests, /var/lib/rancher/rke2/agent/pod-manifests]
  kubelet_config:
    description:
      - The kubelet's config file. Default the running kubelet's C(--config), else
        C(/var/lib/kubelet/config.yaml).
    type: path
  flannel_subnet_env:
    description: flannel's subnet file.
    type: path
    default: /run/flannel/subnet.env
  flannel_net_conf:
    description: flannel's C(net-conf.json) (the C(kube-flannel-cfg) ConfigMap key), when the node has it as a file.
    type: path
    default: /etc/kube-flannel/net-conf.json
extends_documentation_fragment:
  - microseg.cluster_firewall.attributes
  - microseg.cluster_firewall.attributes.facts
"""

EXAMPLES = r"""
- name: Read Kubernetes and CNI facts
  microseg.cluster_firewall.cni_facts:

- name: Show what was found
  ansible.builtin.debug:
    msg: >-
      roles={{ ansible_facts.microseg_cni.kubernetes.roles }}
      cni={{ ansible_facts.microseg_cni.cni.kind }}
      features={{ ansible_facts.microseg_cni.derived.features }}
"""

RETURN = r"""
ansible_facts:
  description: Facts to add to ansible_facts.
  returned: always
  type: complex
  contains:
    microseg_cni:
      description: What Kubernetes and its CNI run on the node.
      returned: always
      type: complex
      contains:
        kubernetes:
          description:
            - C(roles) (kube_control_plane, etcd, kube_node), C(components) (component to where it
              was seen), C(k3s) (server, agent or null), C(ports) and C(port_origins) (port setting
              to value and to where it was read).
          type: dict
          returned: always
        cni:
          description: C(config_file), C(name), C(plugins) (types), C(kind).
          type: dict
          returned: always
        flannel:
          description: C(present), C(network), C(subnet), C(backend), C(port), C(port_v6), C(source).
          type: dict
          returned: always
        calico:
          description:
            - C(present), C(backend), C(ipip), C(vxlan) (Always, CrossSubnet, Never), C(vxlan_port),
              C(wireguard), C(wireguard_port), C(wireguard_port_v6), C(typha_client), C(runs_typha),
              C(pool_cidr), C(sources).
          type: dict
          returned: always
        kube_proxy:
          description: C(mode) (iptables, ipvs, nftables or null) and C(source).
          type: dict
          returned: always
        derived:
          description:
            - For the planner. C(roles), C(features), C(ports), C(port_origins), C(pod_cidrs), C(notes).
          type: dict
          returned: always
        problems:
          description: What could not be read, one line each (also issued as warnings).
          type: list
          elements: str
          returned: always
      sample:
        kubernetes:
          roles: [kube_control_plane, etcd]
          components: {kube-apiserver: /etc/kubernetes/manifests/kube-apiserver.yaml}
          ports: {apiserver: 8443}
          port_origins: {apiserver: /etc/kubernetes/manifests/kube-apiserver.yaml --secure-port}
        cni: {config_file: /etc/cni/net.d/10-flannel.conflist, name: cbr0, plugins: [flannel, portmap], kind: flannel}
        flannel: {present: true, backend: vxlan, port: 8572, source: device flannel.1 (vxlan dstport)}
        derived: {features: [flannel_vxlan], ports: {flannel_vxlan: 8572}, pod_cidrs: [10.244.0.0/16]}
        problems: []
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect import cni as detect_cni
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect.firewall import parse_iptables_save
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect.kubernetes import (
    DEFAULT_KUBELET_CONFIG,
    KubernetesFacts,
    flags_from_args,
)
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.node_reader import NodeReader

CALICO_PROCESSES = ("calico-node", "calico-felix")


def read_kubernetes(reader, params, processes):
    kubernetes = KubernetesFacts()
    for directory in params["manifest_dirs"]:
        for name in reader.list_dir(directory):
            if name.endswith((".yaml", ".yml", ".json", ".manifest")):
                path = os.path.join(directory, name)
                text = reader.read_text(path)
                if text is None:
                    continue
                try:
                    kubernetes.add_manifest(path, text)
                except ValueError as error:
                    reader.problem("%s: not a valid manifest (%s)" % (path, error))
    for pid, argv in processes:
        kubernetes.add_process(pid, argv)
    config_path = params["kubelet_config"] or kubernetes.kubelet_config or DEFAULT_KUBELET_CONFIG
    text = reader.read_text(config_path, required=bool(params["kubelet_config"]))
    if text is not None:
        try:
            kubernetes.add_kubelet_config(config_path, text)
        except ValueError as error:
            reader.problem("%s: not a valid kubelet config (%s)" % (config_path, error))
    return kubernetes.result()


def read_cni_config(reader, directory, flannel_seen):
    result = {"config_file": None, "name": None, "plugins": [], "kind": None}
    chosen = detect_cni.choose_cni_config(reader.list_dir(directory))
    if chosen is None:
        return result
    path = os.path.join(directory, chosen)
    result["config_file"] = path
    text = reader.read_text(path)
    if text is None:
        return result
    try:
        config = detect_cni.parse_cni_config(text)
    except ValueError as error:
        reader.problem("%s: malformed CNI config (%s)" % (path, error))
        return result
    result.update(name=config["name"], plugins=config["plugins"],
                  kind=detect_cni.cni_kind(chosen, config["plugins"][0], flannel_seen))
    return result


def read_calico(reader, processes, links):
    env, source, runs_typha = {}, "calico-node environment", False
    for pid, argv in processes:
        name = os.path.basename(argv[0])
        if name == "calico-typha" or (len(argv) > 1 and "calico-typha" in argv[0]):
            runs_typha = True
        if name in CALICO_PROCESSES and not env:
            raw = reader.environ(pid)
            if raw is not None and detect_cni.is_calico_environment(detect_cni.parse_environ(raw)):
                env = detect_cni.parse_environ(raw)
                source = "process %d (%s) environment" % (pid, name)
    try:
        return detect_cni.calico_facts(env, links, runs_typha, source)
    except ValueError as error:
        reader.problem("%s: %s" % (source, error))
        return detect_cni.calico_facts({}, links, runs_typha, source)


def gather(module):
    params = module.params
    reader = NodeReader(module)
    processes = reader.processes()
    kubernetes = read_kubernetes(reader, params, processes)

    links_text = reader.run("ip", ["-details", "-json", "link", "show"], "network devices")
    try:
        links = detect_cni.parse_links(links_text) if links_text else []
    except ValueError as error:
        reader.problem("ip -details -json link show: unreadable output (%s)" % error)
        links = []

    subnet_text = reader.read_text(params["flannel_subnet_env"])
    subnet_env = detect_cni.parse_env_file(subnet_text) if subnet_text else {}
    net_conf = None
    net_conf_text = reader.read_text(params["flannel_net_conf"])
    if net_conf_text is not None:
        try:
            net_conf = detect_cni.parse_net_conf(net_conf_text)
        except ValueError as error:
            reader.problem("%s: malformed net-conf.json (%s)" % (params["flannel_net_conf"], error))
    flannel = detect_cni.flannel_facts(subnet_env, links, net_conf)
    cni = read_cni_config(reader, params["cni_conf_dir"], flannel["present"])
    calico = read_calico(reader, processes, links)

    nft_tables = []
    if module.get_bin_path("nft"):
        text = reader.run("nft", ["list", "tables"], "nft tables")
        nft_tables = detect_cni.parse_nft_tables(text or "")
    nat_chains = []
    if module.get_bin_path("iptables-save"):
        text = reader.run("iptables-save", ["-t", "nat"], "iptables nat table")
        nat_chains = parse_iptables_save(text or "").get("nat", {}).get("chains", [])
    flag_mode = None
    for _pid, argv in processes:
        if os.path.basename(argv[0]) == "kube-proxy":
            flag_mode = flags_from_args(argv[1:]).get("--proxy-mode") or None
    mode, mode_source = detect_cni.kube_proxy_mode(links, nft_tables, nat_chains, flag_mode)

    derived = detect_cni.derive(cni, flannel, calico)
    derived["roles"] = kubernetes["roles"]
    ports = dict(kubernetes["ports"])
    ports.update(derived["ports"])
    origins = dict(kubernetes["port_origins"])
    origins.update(derived["port_origins"])
    derived.update(ports=ports, port_origins=origins)
    return {"kubernetes": kubernetes, "cni": cni, "flannel": flannel, "calico": calico,
            "kube_proxy": {"mode": mode, "source": mode_source}, "derived": derived,
            "problems": reader.problems}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            cni_conf_dir=dict(type="path", default="/etc/cni/net.d"),
            manifest_dirs=dict(type="list", elements="path",
                               default=["/etc/kubernetes/manifests", "/var/lib/rancher/rke2/agent/pod-manifests"]),
            kubelet_config=dict(type="path"),
            flannel_subnet_env=dict(type="path", default="/run/flannel/subnet.env"),
            flannel_net_conf=dict(type="path", default="/etc/kube-flannel/net-conf.json"),
        ),
        supports_check_mode=True,
    )
    module.exit_json(changed=False, ansible_facts={"microseg_cni": gather(module)})


if __name__ == "__main__":
    main()
