# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options of the detection, shared by the fact modules and node_facts (one argument spec each,
in module_utils/gather/)."""

from __future__ import annotations


class ModuleDocFragment(object):
    # docker_facts, node_facts: module_utils/gather/docker.py ARGUMENT_SPEC
    DOCKER = r"""
options:
  docker_host:
    description:
      - The Docker daemon's socket. Only C(unix://) sockets are supported.
    type: str
    default: unix:///var/run/docker.sock
  timeout:
    description:
      - Seconds to wait for each answer of the daemon; a daemon that hangs is reported as unreachable.
    type: int
    default: 10
"""

    # cni_facts, node_facts: module_utils/gather/cni.py ARGUMENT_SPEC
    CNI = r"""
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
"""
