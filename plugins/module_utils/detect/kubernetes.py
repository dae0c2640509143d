# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What Kubernetes runs on a node and on which ports, from static pod manifests, process
command lines, the distributions' config files and the kubelet config. Pure: takes text,
returns data.

KubernetesFacts collects the evidence; the distributions that configure themselves their own
way have a module each, dispatched from DISTRIBUTIONS by their process: detect.supervisor (k3s,
RKE2), detect.k0s, detect.microk8s (no process: its args files). detect.kube_flags holds what
they share (command lines, the components' flags, secrets).

Every YAML file is parsed with PyYAML's safe loader through detect.yaml_text (JSON needs no
PyYAML); a file that cannot be parsed raises yaml_text.Unreadable, a ValueError whose message
never quotes the file (config.yaml holds the join token), and `missing` says PyYAML is not there.
"""

from __future__ import annotations

import os

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect import k0s as detect_k0s
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect import microk8s as detect_microk8s
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect import supervisor as detect_supervisor
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect.kube_flags import (
    COMPONENT_NETWORKS,
    COMPONENT_PORTS,
    COMPONENTS,
    argv_words,
    flags_from_args,
    kubelet_config_port,
    port_value,
)
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect.supervisor import (
    supervisor_config_flags,
)
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect.yaml_text import dotted_scalars, parse, scalar

# kube-router (k0s's default network provider): its BGP port and overlay from its flags.
KUBE_ROUTER_PORTS = {"kube_router_bgp": "--bgp-port", "kube_router_fou": "--overlay-encap-port"}
DEFAULT_KUBELET_CONFIG = "/var/lib/kubelet/config.yaml"


def _k0s(facts, pid, argv, _env):
    if len(argv) > 1 and argv[1] in ("controller", "worker"):
        return detect_k0s.observe(facts, argv[1], flags_from_args(argv[2:], detect_k0s.SHORT_FLAGS),
                                  "process %s (k0s)" % pid)
    return None


def _supervisor(facts, pid, argv, env):
    found = detect_supervisor.supervisor_of(argv)
    if found is None:
        return None
    return detect_supervisor.observe(facts, found[0], found[1], detect_supervisor.command_flags(argv),
                                     "process %s (%s)" % (pid, found[0]), env)


def _kube_router(facts, pid, argv, _env):
    flags = flags_from_args(argv[1:])
    facts.add_feature("kube_router")
    if flags.get("--overlay-encap") == "fou":
        facts.add_feature("kube_router_fou")
    facts.set_ports(KUBE_ROUTER_PORTS, flags, "process %s (kube-router)" % pid)
    return "kube-router"


# a process's program -> what reads it: (facts, pid, argv words, env layers) -> what it is, or None
DISTRIBUTIONS = {"k0s": _k0s, "k3s": _supervisor, "rke2": _supervisor, "kube-router": _kube_router}


def parse_manifest(text):
    """A static pod manifest (YAML or JSON) -> (component name or None, flags): the container
    that runs a known component (else the first), its command and args. Raises ValueError
    (yaml_text.Unreadable) when the file cannot be read."""
    pod = parse(text)
    spec = pod.get("spec") if isinstance(pod, dict) else None
    containers = spec.get("containers") if isinstance(spec, dict) else None
    containers = [item for item in containers if isinstance(item, dict)] if isinstance(containers, list) else []
    chosen, component = (containers[0] if containers else {}), None
    for container in containers:
        command = _words(container.get("command"))
        if command and os.path.basename(command[0]) in COMPONENTS:
            chosen, component = container, os.path.basename(command[0])
            break
    args = _words(chosen.get("command")) + _words(chosen.get("args"))
    return component, flags_from_args(args)


def _words(value):
    """A container's command or args: a list of strings (a lone string is one word)."""
    words = [scalar(item) for item in (value if isinstance(value, list) else [value])]
    return [word for word in words if word]


def supervisor_of(argv):
    """(distribution, role) of a `k3s|rke2 server|agent` process, else None."""
    return detect_supervisor.supervisor_of(argv_words(argv))


class KubernetesFacts(object):
    """Collects evidence, then answers: roles, components (with their source), ports (with origin)."""

    def __init__(self):
        self.components = {}     # component -> where it was seen
        self.ports = {}          # port setting -> value (int or "LOW-HIGH" or "a,b")
        self.origins = {}        # port setting -> where the value came from
        self.kubelet_config = None
        self.k3s = None
        self.networks = {}       # cluster network -> [CIDR]
        self.network_origins = {}
        self.distribution = None     # k3s, rke2, k0s, microk8s, else None (kubeadm-style)
        self.features = []
        self.configs = {}        # supervisor -> {flag: (value, where)} from its config files
        self.k0s_config = None   # (path, {dotted key: value}) of k0s.yaml
        self.flannel_backend = None   # (backend or None, where) from k3s --flannel-backend
        self.supervisor_cni = None    # ([CNI names], where) from RKE2's --cni
        self.absent = {}         # feature the node's roles bring but it does not run -> why
        self.network_provider = None  # (k0s spec.network.provider, where)
        self.notes = []

    def add_feature(self, feature):
        if feature not in self.features:
            self.features.append(feature)

    def set_networks(self, table, flags, where, origin=None):
        """{network: flag} read from flags, unless an earlier source gave that network."""
        for key, flag in table.items():
            value = (flags.get(flag) or "").strip()
            if value and key not in self.networks:
                self.networks[key] = [item.strip() for item in value.split(",") if item.strip()]
                self.network_origins[key] = origin or "%s %s" % (where, flag)

    def set_ports(self, table, flags, where, origin=None):
        """{port setting: flag} read from flags (a later source wins)."""
        for key, flag in table.items():
            if flag in flags and flags[flag] is not None:
                value = port_value(flag, flags[flag])
                if value is not None:
                    self.ports[key] = int(value) if value.isdigit() else value
                    self.origins[key] = origin or "%s %s" % (where, flag)

    def add_k0s_config(self, path, text):
        """k0s.yaml (its first document): its scalars by dotted key. Raises ValueError
        (yaml_text.Unreadable) when it cannot be read."""
        self.k0s_config = (path, dotted_scalars(parse(text)))

    def add_supervisor_config(self, distribution, path, text):
        """A k3s/RKE2 config file (config.yaml, then config.yaml.d/* in name order: a later file's
        key replaces an earlier one's, `key+` appends to it, as k3s's configfilearg does for both).
        Raises ValueError (yaml_text.Unreadable) when the file cannot be read or is not a map."""
        detect_supervisor.add_config(self.configs.setdefault(distribution, {}), path,
                                     supervisor_config_flags(parse(text)))

    def add_supervisor_environment(self, pid, name, env):
        """A k3s/RKE2 process's environment: K3S_P2P_PORT moves Spegel's peer-to-peer port."""
        if name == "k3s":
            detect_supervisor.k3s_p2p_port(self, env, "process %s (k3s) environment" % pid)

    def add_microk8s(self, args, worker, dqlite_info=None):
        """MicroK8s: args {service file name: text} from $SNAP_DATA/args, worker (the clustered
        lock is there), dqlite_info (backend/info.yaml text, the datastore's address)."""
        detect_microk8s.observe(self, args, worker, dqlite_info)

    def add_manifest(self, path, text):
        component, flags = parse_manifest(text)
        if component is None:
            stem = os.path.splitext(os.path.basename(path))[0]
            component = stem if stem in COMPONENT_PORTS else None
        if component in COMPONENT_PORTS:
            self.components.setdefault(component, path)
            self.set_ports(COMPONENT_PORTS[component], flags, path)
        self.set_networks(COMPONENT_NETWORKS.get(component, {}), flags, path)
        return component

    def add_process(self, pid, argv, env=None):
        """A running process. Static-pod flags win over a process of the same component
        (they are the same program); for the kubelet, flags win over its config file.
        env: for a supervisor (supervisor_of), its environment as layers [(variables, where read)]."""
        argv = argv_words(argv)
        if not argv:
            return None
        name = os.path.basename(argv[0])
        if name in DISTRIBUTIONS:
            return DISTRIBUTIONS[name](self, pid, argv, env)
        if name not in COMPONENTS:
            return None
        where = "process %s (%s)" % (pid, name)
        seen_in_manifest = name in self.components and not self.components[name].startswith("process ")
        self.components.setdefault(name, where)
        flags = flags_from_args(argv[1:])
        if name in COMPONENT_PORTS and not seen_in_manifest:
            self.set_ports(COMPONENT_PORTS[name], flags, where)
        self.set_networks(COMPONENT_NETWORKS.get(name, {}), flags, where)
        if name == "kubelet" and flags.get("--config"):
            self.kubelet_config = flags["--config"]
        return name

    def add_kubelet_config(self, path, text):
        """The kubelet's config file (KubeletConfiguration, YAML or JSON): its port and
        readOnlyPort, below its flags. Raises ValueError (yaml_text.Unreadable)."""
        self.components.setdefault("kubelet", path)
        config = parse(text)
        for key, setting in (("kubelet", "port"), ("kubelet_readonly", "readOnlyPort")):
            port = kubelet_config_port(config, setting)
            if port is not None and key not in self.origins:
                self.ports[key] = port
                self.origins[key] = "%s %s" % (path, setting)

    def roles(self):
        roles = []
        if "kube-apiserver" in self.components:
            roles.append("kube_control_plane")
        if "etcd" in self.components:
            roles.append("etcd")
        if "kubelet" in self.components and "kube-apiserver" not in self.components:
            roles.append("kube_node")
        return roles

    def readonly_kubelet(self):
        """The kubelet's read-only HTTP port is off (0) unless a flag or its config sets it."""
        return bool(self.ports.get("kubelet_readonly")) and "kubelet" in self.components

    def _ports_in_use(self):
        """The ports read, without the kubelet's read-only port when it is off (0)."""
        return dict((key, value) for key, value in self.ports.items()
                    if key != "kubelet_readonly" or self.readonly_kubelet())

    def result(self):
        ports = self._ports_in_use()
        return {
            "roles": self.roles(),
            "components": dict(sorted(self.components.items())),
            "k3s": self.k3s,
            "distribution": self.distribution,
            "features": list(self.features) + (["kubelet_readonly"] if self.readonly_kubelet() else []),
            "absent_features": dict(sorted(self.absent.items())),
            "flannel_backend": list(self.flannel_backend) if self.flannel_backend else None,
            "network_provider": list(self.network_provider) if self.network_provider else None,
            "supervisor_cni": list(self.supervisor_cni) if self.supervisor_cni else None,
            "notes": list(self.notes),
            "ports": dict(sorted(ports.items())),
            "port_origins": dict(sorted((key, origin) for key, origin in self.origins.items() if key in ports)),
            "networks": dict(sorted(self.networks.items())),
            "network_origins": dict(sorted(self.network_origins.items())),
        }
