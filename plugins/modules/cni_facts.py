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
  - "k3s and RKE2 from their supervisor process (C(k3s server), C(rke2 agent), ...) and their
    config file (C(K3S_CONFIG_FILE)/C(RKE2_CONFIG_FILE), else C(--config)/C(-c), else
    C(/etc/rancher/k3s/config.yaml), C(/etc/rancher/rke2/config.yaml)) and the files in
    C(CONFIG.d/) beside it, in name order; a flag on the command line wins. An RKE2 server
    adds the feature C(rke2_supervisor) (its port 9345); its C(--cni) (C(cni:), C(RKE2_CNI))
    is compared with the node's CNI config (a note when they differ; the CNI it names is planned
    with a note while the node has no CNI config yet)."
  - "k0s from C(k0s controller) / C(k0s worker) and C(k0s.yaml) (C(--config) or C(-c), default
    C(/etc/k0s/k0s.yaml)): the API, k0s API and konnectivity ports, the pod and Service networks
    (with C(spec.network.dualStack) enabled, its IPv6 CIDRs too),
    control-plane load balancing (VRRP); kube-router from its process flags (C(--bgp-port),
    C(--overlay-encap=fou), C(--overlay-encap-port))."
  - "Real ports from the node's configuration: kube-apiserver C(--secure-port) and
    C(--service-node-port-range), etcd C(--listen-client-urls) and C(--listen-peer-urls),
    kube-scheduler and kube-controller-manager C(--secure-port), kubelet C(--port) or C(port) (and
    C(--read-only-port) or C(readOnlyPort), when not 0) in its config file (C(--config), default C(/var/lib/kubelet/config.yaml)). Absent flags mean the
    upstream default, which the planner applies."
  - "CNI: the lexicographically first C(.conf), C(.conflist) or C(.json) in O(cni_conf_dir) and
    its first plugin's type: flannel, calico, canal, cilium, antrea, weave or other."
  - "flannel: the pod network from O(flannel_subnet_env); the backend and its real port from the
    devices (C(flannel.VNI) vxlan with its dstport, C(flannel0) udp, C(flannel-wg) wireguard,
    C(flannel.ipip) ipip, none host-gw), from O(flannel_net_conf) when readable (else k3s's
    C(/var/lib/rancher/k3s/agent/etc/flannel/net-conf.json)), and from k3s's C(--flannel-backend)
    (vxlan, host-gw, wireguard-native, ipsec, none)."
  - "MicroK8s: its services' flags in C(/var/snap/microk8s/current/args/) (API server, kubelet
    with its read-only port, kube-proxy, cluster agent C(--bind)), dqlite's address in
    C(var/kubernetes/backend/info.yaml) (or legacy etcd), a worker by its C(var/lock/clustered.lock)."
  - "k3s embedded registry (Spegel): a server's C(--embedded-registry), its peer-to-peer port
    from C(K3S_P2P_PORT) in the k3s process environment."
  - "k3s's and RKE2's flags given in their environment, the variables their CLI documents
    (C(K3S_URL)/C(RKE2_URL) is C(--server), C(K3S_CLUSTER_INIT) is C(--cluster-init), C(RKE2_CNI) is
    C(--cni), C(*_CONFIG_FILE), C(*_DATA_DIR), ...; a variable that stands for no flag is not read):
    the environment files the process's unit reads (unit from its cgroup), in the unit's order,
    C(/etc/default/NAME), C(/etc/sysconfig/NAME), then k3s's C(/etc/systemd/system/NAME.service.env)
    (OpenRC C(/etc/rancher/k3s/NAME.env)) or RKE2's C(PREFIX/lib/systemd/system/NAME.env) (PREFIX
    where the rke2 binary is: C(/usr/local), C(/opt/rke2), C(/usr)), then the process's environment;
    the command line and the config files win. The values of secrets (C(*_TOKEN), C(*_AGENT_TOKEN),
    C(K3S_VPN_AUTH), the datastore endpoint) are never returned. Config files: the config file, then
    C(CONFIG.d/*.yaml) in name order, a key ending in C(+) appending."
  - "Calico: from the calico-node process environment and devices - networking backend, IPIP and
    VXLAN modes (IPv4 and IPv6 pools), C(FELIX_VXLANPORT), WireGuard, Typha, the pool CIDRs,
    C(FELIX_HEALTHPORT) (canal's health port)."
  - "Cilium: from cilium-agent's flags and its config map directory (C(--config-dir), read through
    the process's root), and its devices (C(cilium_vxlan), C(cilium_geneve), C(cilium_wg0)) - the
    tunnel in use and its port, WireGuard, IPsec, Hubble, mutual authentication, metrics, BGP, the
    kube-proxy replacement and the host firewall."
  - "Antrea: from antrea-agent's C(antrea-agent.conf) and antrea-controller's config (C(--config),
    read through the process's root) and the Open vSwitch tunnel devices (C(genev_sys_PORT),
    C(vxlan_sys_PORT), C(stt_sys_PORT), C(gre_sys)) - the encap mode, the tunnel and its port,
    IPsec or WireGuard, the agent, controller and memberlist ports, BGPPolicy, proxyAll's health port."
  - "k0s: C(spec.network.provider) of C(k0s.yaml) (C(kuberouter) by default, C(calico) with
    C(spec.network.calico.mode), C(vxlanPort), C(wireguard), or C(custom): a note), planned on a
    controller that runs pods (C(--enable-worker), C(--single)); workers show the provider's process."
  - kube-proxy's mode (iptables, ipvs via C(kube-ipvs0), nftables via the C(kube-proxy) nft table).
  - "The cluster's networks: the Service CIDR from kube-apiserver or kube-controller-manager
    C(--service-cluster-ip-range) (k3s C(--service-cidr)), the pod CIDR from
    kube-controller-manager or kube-proxy C(--cluster-cidr) (k3s C(--cluster-cidr)) and the CNI;
    NodeLocal DNSCache from the addresses on its C(nodelocaldns) device; in IPVS mode every address
    on C(kube-ipvs0) (ClusterIP, LoadBalancer and external IPs: the plan admits Service traffic to
    them, and they stand in for the Service CIDR when no host shows it)."
  - Every value says where it was read. A file that cannot be read or parsed gives a warning
    naming it (for YAML, the line and column, never the line's text); the module still returns
    every other fact.
  - YAML files are parsed on the node with PyYAML's safe loader (JSON needs no PyYAML), the first
    document of each, as the programs that own them read them; without PyYAML they are listed in
    C(yaml_unread).
options: {}
notes:
  - "Needs root (C(become: true)): it reads iptables-save, nft, the cluster's manifests and
    C(/proc/PID/environ); run unprivileged it fails, rather than report what it could not read
    as absent."
extends_documentation_fragment:
  - microseg.cluster_firewall.detection.cni
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
              was seen), C(k3s) (server, agent or null), C(distribution) (k3s, rke2, k0s or null for
              kubeadm-style nodes), C(features) (C(rke2_supervisor), C(k0s_controller),
              C(k0s_cplb), C(kube_router), C(kube_router_fou), C(k3s_embedded_registry)),
              C(absent_features) (what the node's roles bring that it does not run, and why),
              C(flannel_backend) (k3s C(--flannel-backend) and where it was read, or null),
              C(supervisor_cni) (an RKE2 server's C(--cni) names and where they were read, or null), C(ports) and
              C(port_origins) (port setting to value and to where it was read), C(networks) and
              C(network_origins) (the pod and Service CIDRs from the components' flags).
          type: dict
          returned: always
        cni:
          description: >-
            C(config_file), C(name), C(plugins) (types), C(kind). When the first config is Multus's
            (type C(multus) or C(multus-shim)), C(name), C(plugins) and C(kind) are those of the CNI it
            hands the pod network to, and C(multus) says where that was read (C(config_file),
            C(delegate_file), C(source): its C(delegates) or C(clusterNetwork)).
          type: dict
          returned: always
        flannel:
          description: C(present), C(network), C(subnet), C(backend), C(port), C(port_v6), C(source).
          type: dict
          returned: always
        calico:
          description:
            - C(present), C(backend), C(ipip), C(vxlan) and C(vxlan_v6) (Always, CrossSubnet, Never),
              C(vxlan_port), C(wireguard), C(wireguard_port), C(wireguard_port_v6), C(typha_client),
              C(runs_typha), C(pool_cidr), C(pool_cidr_v6), C(health_port), C(sources).
          type: dict
          returned: always
        cilium:
          description:
            - C(present), C(tunnel) (vxlan, geneve or null), C(features), C(ports), C(port_origins),
              C(notes), C(pod_cidrs) (its cluster-pool IPAM's CIDRs) and C(pod_cidr_origin).
          type: dict
          returned: always
        antrea:
          description:
            - C(present), C(tunnel) (geneve, vxlan, stt, gre or null), C(features), C(ports),
              C(port_origins), C(notes).
          type: dict
          returned: always
        kube_proxy:
          description: C(mode) (iptables, ipvs, nftables or null) and C(source).
          type: dict
          returned: always
        services:
          description:
            - C(features) (C(kube_proxy_ipvs), C(nodelocal_dns)), C(nodelocal_dns) (the addresses on
              the C(nodelocaldns) device), C(cluster_ips) (the addresses on C(kube-ipvs0)), C(notes).
          type: dict
          returned: always
        derived:
          description:
            - For the planner. C(roles), C(features), C(absent_features), C(ports), C(port_origins), C(pod_cidrs),
              C(service_cidrs), C(nodelocal_dns), C(cluster_ips), C(network_origins), C(notes).
          type: dict
          returned: always
        yaml_unread:
          description:
            - The YAML files not read because PyYAML is not installed for the node's Python (the
              C(microseg.cluster_firewall.facts) role installs it and reads again); what they set is
              not guessed. Empty when every file was read.
          type: list
          elements: str
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

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.gather import cni
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.node.node_reader import require_root


def main():
    module = AnsibleModule(argument_spec=cni.ARGUMENT_SPEC, supports_check_mode=True)
    require_root(module)
    module.exit_json(changed=False, ansible_facts={"microseg_cni": cni.gather(module)})


if __name__ == "__main__":
    main()
