# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What Kubernetes runs on a node and on which ports, from static pod manifests, process
command lines, the distributions' config files and the kubelet config. Pure: takes text,
returns data.

Every YAML file is parsed with PyYAML's safe loader through detect.yaml_text (JSON needs no
PyYAML); a file that cannot be parsed raises yaml_text.Unreadable, a ValueError whose message
never quotes the file (config.yaml holds the join token), and `missing` says PyYAML is not there.
"""

from __future__ import annotations

import os
import re
from collections import namedtuple

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect.yaml_text import dotted_scalars, parse, scalar
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.ports import port_of_listen_address

# component -> {port setting: the flag that sets it} (the defaults are the catalog's)
COMPONENT_PORTS = {
    "kube-apiserver": {"apiserver": "--secure-port", "nodeport_range": "--service-node-port-range"},
    "etcd": {"etcd_client": "--listen-client-urls", "etcd_peer": "--listen-peer-urls"},
    "kube-scheduler": {"scheduler": "--secure-port"},
    "kube-controller-manager": {"controller_manager": "--secure-port"},
    "kubelet": {"kubelet": "--port", "kubelet_readonly": "--read-only-port"},
}
# component -> {cluster network: the flag that sets it} (Service CIDR, pod CIDR; comma-separated
# when dual-stack)
COMPONENT_NETWORKS = {
    "kube-apiserver": {"service_cidrs": "--service-cluster-ip-range"},
    "kube-controller-manager": {"service_cidrs": "--service-cluster-ip-range", "pod_cidrs": "--cluster-cidr"},
    "kube-proxy": {"pod_cidrs": "--cluster-cidr"},
}
# k3s embeds the control plane in one process: `k3s server` (control plane + kubelet), `k3s agent`.
K3S_PORTS = {"apiserver": "--https-listen-port", "nodeport_range": "--service-node-port-range"}
K3S_NETWORKS = {"service_cidrs": "--service-cidr", "pod_cidrs": "--cluster-cidr"}
# Distributions run by one supervisor process, `NAME server` or `NAME agent`, configured by flags
# and by a flat YAML file whose keys are the flags without "--" (plus files in CONFIG.d/, read in
# name order; a flag on the command line wins over the files). k3s runs the control plane in that
# process; an RKE2 server runs it as static pods (read from their manifests) and listens for its
# agents on the supervisor port. Both run etcd on servers by default (k3s: with --cluster-init or
# when joining with --server; otherwise its datastore is SQLite, local only).
Supervisor = namedtuple("Supervisor", "config ports networks features etcd")
SUPERVISORS = {
    "k3s": Supervisor("/etc/rancher/k3s/config.yaml", K3S_PORTS, K3S_NETWORKS, (), "when clustered"),
    "rke2": Supervisor("/etc/rancher/rke2/config.yaml", {"nodeport_range": "--service-node-port-range"},
                       K3S_NETWORKS, ("rke2_supervisor",), "always"),
}
# k3s runs flannel in-process: --flannel-backend -> flannel's backend (none: another CNI).
K3S_FLANNEL_BACKENDS = {"vxlan": "vxlan", "host-gw": "host_gw", "wireguard-native": "wireguard",
                        "wireguard": "wireguard", "ipsec": "ipsec", "none": None}
# The environment variable that moves k3s's embedded registry's peer-to-peer port (default 5001).
K3S_P2P_PORT = "K3S_P2P_PORT"
# k3s reads most of its flags from the environment too (K3S_URL is --server, K3S_CLUSTER_INIT is
# --cluster-init), and its install.sh writes every K3S_* it was given to the service's environment
# file (systemd: /etc/systemd/system/<unit>.env; OpenRC: /etc/rancher/k3s/<service>.env). The
# variable is K3S_ and the flag's name in capitals, '-' as '_', except for these; K3S_P2P_PORT and
# the installer's own variables stand for no flag. A flag given on the command line or in a config
# file wins over its variable.
K3S_ENV_FLAGS = {"K3S_URL": "--server", "K3S_CONFIG_FILE": "--config", "K3S_KUBECONFIG_OUTPUT": "--write-kubeconfig",
                 "K3S_KUBECONFIG_MODE": "--write-kubeconfig-mode", "K3S_KUBECONFIG_GROUP": "--write-kubeconfig-group"}
K3S_ENV_NOT_FLAGS = (K3S_P2P_PORT,)
K3S_ENV_DIRS = ("/etc/systemd/system", "/etc/rancher/k3s")
# Variables whose values are secrets (tokens, join keys, credentials in a datastore's DSN): only
# that they are set is kept, never their value, so it cannot leave the node in the facts.
_SECRET_WORDS = ("TOKEN", "SECRET", "PASSWORD", "ACCESS_KEY", "VPN_AUTH", "DATASTORE_ENDPOINT")
SECRET_VALUE = "(secret, not read)"


def k3s_environment_flags(env, where):
    """k3s's environment (a process's, or an environment file's KEY=VALUE) -> {flag: (value, origin)}:
    booleans as k3s reads them (true -> a bare flag "", false -> None: off), secrets' values withheld."""
    flags = {}
    for name, value in sorted(env.items()):
        if not name.startswith("K3S_") or name in K3S_ENV_NOT_FLAGS or name == "K3S_":
            continue
        flag = K3S_ENV_FLAGS.get(name) or "--" + name[4:].lower().replace("_", "-")
        value = (value or "").strip()
        if any(word in name for word in _SECRET_WORDS):
            value = SECRET_VALUE if value else ""
        elif value.lower() in ("false", "0") and flag in K3S_BOOLEAN_FLAGS:
            value = None                     # off: it also turns off what an earlier layer set
        elif value.lower() in ("true", "1") and flag in K3S_BOOLEAN_FLAGS:
            value = ""
        flags[flag] = (value, "%s %s" % (where, name))
    return flags


# k3s's boolean flags a variable may set (only these read "1"/"true" as a bare flag)
K3S_BOOLEAN_FLAGS = ("--cluster-init", "--cluster-reset", "--debug", "--selinux", "--embedded-registry",
                     "--disable-agent", "--rootless", "--secrets-encryption", "--prefer-bundled-bin")
SERVER_COMPONENTS = ("kube-apiserver", "kube-scheduler", "kube-controller-manager", "kubelet")
# k0s: `k0s controller` (the control plane; a kubelet only with --enable-worker or --single) and
# `k0s worker`; its settings are nested keys of k0s.yaml (--config, default /etc/k0s/k0s.yaml).
K0S_CONFIG = "/etc/k0s/k0s.yaml"
K0S_PORTS = {"apiserver": "spec.api.port", "k0s_api": "spec.api.k0sApiPort", "konnectivity": "spec.konnectivity.agentPort",
             "nodeport_range": "spec.api.extraArgs.service-node-port-range"}
K0S_NETWORKS = {"pod_cidrs": "spec.network.podCIDR", "service_cidrs": "spec.network.serviceCIDR"}
# MicroK8s (a snap): each service's flags in a file of $SNAP_DATA/args, one flag per line; the
# cluster agent (joins) on --bind; dqlite, its datastore, at the Address of backend/info.yaml; a
# node joined as a worker has the clustered lock (and runs no control plane).
MICROK8S_DATA = "/var/snap/microk8s/current"
# the components whose args file (named after them) holds their flags, and the cluster agent's
MICROK8S_ARGS = ("kube-apiserver", "kubelet", "kube-proxy", "kube-scheduler", "kube-controller-manager", "etcd",
                 "cluster-agent")
MICROK8S_WORKER_LOCK = "var/lock/clustered.lock"
MICROK8S_DQLITE_INFO = "var/kubernetes/backend/info.yaml"
# kube-router (k0s's default network provider): its BGP port and overlay from its flags.
KUBE_ROUTER_PORTS = {"kube_router_bgp": "--bgp-port", "kube_router_fou": "--overlay-encap-port"}
# k0s's network provider (spec.network.provider: kuberouter by default, calico, custom) and, for
# calico, its mode (vxlan by default, bird, or the legacy ipip) -> the features it brings.
K0S_PROVIDER = "spec.network.provider"
K0S_CALICO_MODES = {"vxlan": ("calico_vxlan",), "bird": ("calico_bgp", "calico_ipip"),
                    "ipip": ("calico_bgp", "calico_ipip")}
COMPONENTS = tuple(COMPONENT_PORTS) + ("kube-proxy",)
DEFAULT_KUBELET_CONFIG = "/var/lib/kubelet/config.yaml"


def flags_from_args(args):
    """['--a=1', '--b', '2', '--c'] -> {'--a': '1', '--b': '2', '--c': ''} (the last one wins)."""
    flags = {}
    index = 0
    while index < len(args):
        arg = args[index]
        if arg.startswith("--"):
            name, sep, value = arg.partition("=")
            if not sep and index + 1 < len(args) and not args[index + 1].startswith("-"):
                value = args[index + 1]
                index += 1
            flags[name] = value
        index += 1
    return flags


def _is_secret(name):
    """A config key or variable whose value is a secret (token, agent-token, vpn-auth, the
    datastore endpoint's credentials...): only that it is set is kept."""
    name = name.upper().replace("-", "_")
    return any(word in name for word in _SECRET_WORDS)


def supervisor_config_flags(data):
    """A k3s/RKE2 config file's first YAML document (a map of flag names without "--") ->
    [(flag, value, append)] in the file's order, as k3s's configfilearg turns it into flags: a
    list gives its items joined with commas, true a bare flag (""), false None (off, also over
    what an earlier file set); `key+` (append to the value of the files before) has append True.
    Nested maps are not flags and are left out; secrets' values are withheld (SECRET_VALUE).
    Raises ValueError when the document is not a map."""
    if data is None:
        return []
    if not isinstance(data, dict):
        raise ValueError("not a map of flags (a %s)" % type(data).__name__)
    flags = []
    for key, raw in data.items():
        name = scalar(key)
        if not name or isinstance(raw, dict):
            continue
        append = name.endswith("+")
        name = name[:-1] if append else name
        items = raw if isinstance(raw, list) else [raw]
        values = [scalar(item) for item in items if not isinstance(item, (list, dict))]
        value = ",".join(values)
        if len(values) == 1 and values[0].lower() in ("true", "false"):
            value = "" if values[0].lower() == "true" else None
        elif _is_secret(name) and value:
            value = SECRET_VALUE
        flags.append(("--" + name.lstrip("-"), value, append))
    return flags


def kubelet_config_port(data, key="port"):
    """KubeletConfiguration (its first document) -> its top-level `port` (or another top-level
    key) as an int, or None."""
    value = data.get(key) if isinstance(data, dict) else None
    value = scalar(value)
    return int(value) if value and value.isdigit() else None


def parse_args_file(text):
    """A MicroK8s args file (`--flag=value` or `--flag value` lines, # comments) -> flags."""
    words = []
    for line in text.splitlines():
        line = "" if line.lstrip().startswith("#") else line.split(" #", 1)[0]
        words.extend(part.strip("'\"") for part in line.split())
    return flags_from_args(words)


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


def ports_from_urls(value):
    """'https://127.0.0.1:2379,https://10.0.0.1:2379' -> [2379]; URLs without a port are skipped."""
    ports = set()
    for url in value.split(","):
        match = re.search(r":(\d+)/?$", url.strip())
        if match:
            ports.add(int(match.group(1)))
    return sorted(ports)


def _port_value(flag, raw):
    if flag in ("--listen-client-urls", "--listen-peer-urls"):
        ports = ports_from_urls(raw)
        return ",".join(str(port) for port in ports) if ports else None
    return raw.strip() or None


def _argv(argv):
    if len(argv) == 1 and " " in argv[0]:      # a process that rewrote its title
        return argv[0].split()
    return argv


def supervisor_of(argv):
    """(distribution, role) of a `k3s|rke2 server|agent` process, else None."""
    argv = _argv(argv)
    if len(argv) > 1 and os.path.basename(argv[0]) in SUPERVISORS and argv[1] in ("server", "agent"):
        return os.path.basename(argv[0]), argv[1]
    return None


def k3s_environment_files(role, unit=None):
    """The environment files k3s's installer writes for a server or agent: the unit's (from its
    cgroup) or the installer's default names, for systemd and OpenRC, in the order to try."""
    names = [unit or ("k3s.service" if role == "server" else "k3s-agent.service")]
    paths = []
    for name in names:
        paths.append(os.path.join(K3S_ENV_DIRS[0], name + ".env"))
        paths.append(os.path.join(K3S_ENV_DIRS[1], name[:-len(".service")] + ".env"))
    return list(dict.fromkeys(paths))


def unit_of_cgroup(text):
    """/proc/PID/cgroup -> the systemd service the process runs in (k3s.service), or None."""
    for line in (text or "").splitlines():
        for part in line.split("/"):
            if part.endswith(".service"):
                return part
    return None


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
        self.distribution = None     # k3s, rke2 (a supervisor process), else None (kubeadm-style)
        self.features = []
        self.configs = {}        # supervisor -> {flag: (value, where)} from its config files
        self.k0s_config = None   # (path, {dotted key: value}) of k0s.yaml
        self.flannel_backend = None   # (backend or None, where) from k3s --flannel-backend
        self.absent = {}         # feature the node's roles bring but it does not run -> why
        self.network_provider = None  # (k0s spec.network.provider, where)
        self.notes = []

    def add_k0s_config(self, path, text):
        """k0s.yaml (its first document): its scalars by dotted key. Raises ValueError
        (yaml_text.Unreadable) when it cannot be read."""
        self.k0s_config = (path, dotted_scalars(parse(text)))

    def _add_feature(self, feature):
        if feature not in self.features:
            self.features.append(feature)

    def _k0s(self, role, flags, where):
        """`k0s controller|worker`: roles, and from k0s.yaml the ports, networks, control-plane load
        balancing and the network provider (kube-router unless another is named)."""
        self.distribution = "k0s"
        path, config = self.k0s_config or (K0S_CONFIG, {})
        if role == "worker":
            self.components.setdefault("kubelet", where)
            return "k0s"
        for component in SERVER_COMPONENTS[:3]:
            self.components.setdefault(component, where)
        if config.get("spec.storage.type", "etcd") == "etcd":
            self.components.setdefault("etcd", where)
        else:
            self.absent["etcd"] = "%s spec.storage.type is %s: no etcd" % (path, config["spec.storage.type"])
        if "--enable-worker" in flags or "--single" in flags:
            self.components.setdefault("kubelet", where)
        elif "kubelet" not in self.components:
            # A controller alone runs no kubelet and no kube-proxy: its role's kubelet and NodePort
            # rows would open ports nothing serves.
            self.absent["kubelet"] = self.absent["k8s_nodeport"] = "%s: a k0s controller without --enable-worker" % where
        self._add_feature("k0s_controller")
        self._k0s_provider(path, config, "--enable-worker" in flags or "--single" in flags)
        if config.get("spec.network.controlPlaneLoadBalancing.enabled", "").lower() == "true":
            self._add_feature("k0s_cplb")
        for key, dotted in K0S_PORTS.items():
            if dotted in config:
                self._set_ports({key: "--" + key}, {"--" + key: config[dotted]}, None, "%s %s" % (path, dotted))
        for key, dotted in K0S_NETWORKS.items():
            if dotted in config:
                self._set_networks({key: "--" + key}, {"--" + key: config[dotted]}, None, "%s %s" % (path, dotted))
        return "k0s"

    def _k0s_provider(self, path, config, runs_pods):
        """k0s.yaml's network provider: its features on a controller that runs pods (--enable-worker,
        --single); a controller alone runs none of it (its workers show the provider's process)."""
        provider = (config.get(K0S_PROVIDER) or "kuberouter").strip().lower()
        where = "%s %s" % (path, K0S_PROVIDER) if K0S_PROVIDER in config else "k0s's default network provider"
        self.network_provider = (provider, where)
        if provider == "custom":
            self.notes.append("k0s: %s is custom: the CNI is the one you installed, planned from what the node "
                              "shows of it (its CNI config, process, devices)" % where)
            return
        if not runs_pods:
            return
        if provider == "kuberouter":
            self._add_feature("kube_router")
        elif provider == "calico":
            mode = (config.get("spec.network.calico.mode") or "vxlan").strip().lower()
            overlay = (config.get("spec.network.calico.overlay") or "Always").strip().lower()
            features = K0S_CALICO_MODES.get(mode)
            if features is None:
                self.notes.append("k0s: %s spec.network.calico.mode %r is not vxlan, bird or ipip: Calico's "
                                  "tunnel is not planned from the file" % (path, mode))
                features = ()
            for feature in ("calico_health",) + tuple(features):
                if feature == "calico_ipip" and overlay == "never":
                    continue
                self._add_feature(feature)
            if "calico_vxlan" in features and "spec.network.calico.vxlanPort" in config:
                port = config["spec.network.calico.vxlanPort"]
                self._set_ports({"calico_vxlan": "--vxlan-port"}, {"--vxlan-port": port}, None,
                                "%s spec.network.calico.vxlanPort" % path)
            if config.get("spec.network.calico.wireguard", "").lower() == "true":
                self._add_feature("calico_wireguard")
        else:
            self.notes.append("k0s: %s is %r, not kuberouter, calico or custom: nothing planned from it"
                              % (where, provider))

    def add_supervisor_config(self, distribution, path, text):
        """A k3s/RKE2 config file (config.yaml, then config.yaml.d/* in name order: a later file's
        key replaces an earlier one's, `key+` appends to it, as k3s's configfilearg does for both).
        Raises ValueError (yaml_text.Unreadable) when the file cannot be read or is not a map."""
        found = self.configs.setdefault(distribution, {})
        for flag, value, append in supervisor_config_flags(parse(text)):
            if append and value is not None and (found.get(flag) or (None,))[0]:
                value = found[flag][0] + "," + value        # appended to what the files before gave
            found[flag] = (value, "%s %s" % (path, flag[2:]))

    def _supervisor(self, distribution, role, flags, where, env=None):
        """`k3s|rke2 server|agent`: roles, ports and networks from its flags, then from its config
        files, then (k3s) from its environment, for the flags the command line does not give.
        env: the process's environment as layers [(variables, where they were read)], later ones
        winning (its unit's environment file, then its own environment)."""
        spec = SUPERVISORS[distribution]
        config = {}
        for variables, env_where in (env or []) if distribution == "k3s" else []:
            config.update(k3s_environment_flags(variables, env_where))
            self._k3s_p2p_port(variables, env_where)
        config.update(self.configs.get(distribution, {}))
        config = dict((flag, entry) for flag, entry in config.items() if flag not in flags and entry[0] is not None)
        self.distribution = distribution
        if role == "agent":
            if distribution == "k3s":
                self.k3s = self.k3s or "agent"
                self._k3s_vpn(flags, config, where)
            self.components.setdefault("kubelet", where)
            return distribution
        if distribution == "k3s":
            self.k3s = "server"
        for component in SERVER_COMPONENTS:
            self.components.setdefault(component, where)
        clustered = {"--cluster-init", "--server"} & (set(flags) | set(config))
        if spec.etcd == "always" or clustered:
            self.components.setdefault("etcd", where)
        else:
            self.absent["etcd"] = "%s: k3s keeps its state in SQLite (no --cluster-init, no --server)" % where
        for feature in spec.features:
            self._add_feature(feature)
        self._k3s_flannel(flags, config, where)
        if distribution == "k3s" and "--embedded-registry" in (set(flags) | set(config)):
            self._add_feature("k3s_embedded_registry")
        self._set_ports(spec.ports, flags, where)
        self._set_networks(spec.networks, flags, where)
        for flag, (value, config_where) in sorted(config.items()):
            self._set_ports(spec.ports, {flag: value}, None, config_where)
            self._set_networks(spec.networks, {flag: value}, None, config_where)
        return distribution

    def _k3s_flannel(self, flags, config, where):
        """A k3s server's --flannel-backend (agents take the servers'; k3s's default is vxlan)."""
        if self.distribution != "k3s":
            return
        value = None
        if "--flannel-backend" in flags:
            value, origin = flags["--flannel-backend"], "%s --flannel-backend" % where
        elif "--flannel-backend" in config:
            value, origin = config["--flannel-backend"]
        if value is not None and value.strip().lower() in K3S_FLANNEL_BACKENDS:
            self.flannel_backend = (K3S_FLANNEL_BACKENDS[value.strip().lower()], origin)
        self._k3s_vpn(flags, config, where)

    def _k3s_vpn(self, flags, config, where):
        """k3s --vpn-auth (or --vpn-auth-file): flannel runs over the VPN (Tailscale), on servers
        and agents alike; the value is a secret and is not kept."""
        if self.distribution != "k3s":
            return
        for flag in ("--vpn-auth", "--vpn-auth-file"):
            if flag in flags:
                self.flannel_backend = ("tailscale", "%s %s" % (where, flag))
                return
            if flag in config:
                self.flannel_backend = ("tailscale", config[flag][1])
                return

    def add_supervisor_environment(self, pid, name, env):
        """A k3s/RKE2 process's environment: K3S_P2P_PORT moves Spegel's peer-to-peer port."""
        if name == "k3s":
            self._k3s_p2p_port(env, "process %s (k3s) environment" % pid)

    def _k3s_p2p_port(self, env, where):
        value = (env.get(K3S_P2P_PORT) or "").strip()
        if value.isdigit():
            self.ports["k3s_spegel_p2p"] = int(value)
            self.origins["k3s_spegel_p2p"] = "%s %s" % (where, K3S_P2P_PORT)

    def _set_networks(self, table, flags, where, origin=None):
        for key, flag in table.items():
            value = flags.get(flag, "").strip()
            if value and key not in self.networks:
                self.networks[key] = [item.strip() for item in value.split(",") if item.strip()]
                self.network_origins[key] = origin or "%s %s" % (where, flag)

    def _set_ports(self, table, flags, where, origin=None):
        for key, flag in table.items():
            if flag in flags:
                value = _port_value(flag, flags[flag])
                if value is not None:
                    self.ports[key] = int(value) if value.isdigit() else value
                    self.origins[key] = origin or "%s %s" % (where, flag)

    def add_manifest(self, path, text):
        component, flags = parse_manifest(text)
        if component is None:
            stem = os.path.splitext(os.path.basename(path))[0]
            component = stem if stem in COMPONENT_PORTS else None
        if component in COMPONENT_PORTS:
            self.components.setdefault(component, path)
            self._set_ports(COMPONENT_PORTS[component], flags, path)
        self._set_networks(COMPONENT_NETWORKS.get(component, {}), flags, path)
        return component

    def add_process(self, pid, argv, env=None):
        """A running process. Static-pod flags win over a process of the same component
        (they are the same program); for the kubelet, flags win over its config file.
        env: for a supervisor (supervisor_of), its environment as layers [(variables, where read)]."""
        argv = _argv(argv)
        if not argv:
            return None
        name = os.path.basename(argv[0])
        where = "process %s (%s)" % (pid, name)
        if name == "k0s" and len(argv) > 1 and argv[1] in ("controller", "worker"):
            return self._k0s(argv[1], flags_from_args(argv[2:]), where)
        if name == "kube-router":
            flags = flags_from_args(argv[1:])
            self._add_feature("kube_router")
            if flags.get("--overlay-encap") == "fou":
                self._add_feature("kube_router_fou")
            self._set_ports(KUBE_ROUTER_PORTS, flags, where)
            return name
        if name in SUPERVISORS and len(argv) > 1 and argv[1] in ("server", "agent"):
            return self._supervisor(name, argv[1], flags_from_args(argv[2:]), where, env)
        if name not in COMPONENTS:
            return None
        seen_in_manifest = name in self.components and not self.components[name].startswith("process ")
        self.components.setdefault(name, where)
        flags = flags_from_args(argv[1:])
        if name in COMPONENT_PORTS and not seen_in_manifest:
            self._set_ports(COMPONENT_PORTS[name], flags, where)
        self._set_networks(COMPONENT_NETWORKS.get(name, {}), flags, where)
        if name == "kubelet" and flags.get("--config"):
            self.kubelet_config = flags["--config"]
        return name

    def add_microk8s(self, args, worker, dqlite_info=None):
        """MicroK8s: args {service file name: text} from $SNAP_DATA/args, worker (the clustered
        lock is there), dqlite_info (backend/info.yaml text, the datastore's address)."""
        if not args:
            return
        self.distribution = "microk8s"
        self._add_feature("microk8s")
        where_dir = MICROK8S_DATA + "/args/"
        for component in MICROK8S_ARGS[:-1]:
            if component not in args:
                continue
            if worker and component in ("kube-apiserver", "kube-scheduler", "kube-controller-manager", "etcd"):
                continue        # a worker keeps the files but runs only the kubelet and kube-proxy
            if component == "etcd" and dqlite_info is not None:
                continue        # dqlite is the datastore; the etcd file is left from older releases
            flags, where = parse_args_file(args[component]), where_dir + component
            self.components.setdefault(component, where)
            self._set_ports(COMPONENT_PORTS.get(component, {}), flags, where)
            self._set_networks(COMPONENT_NETWORKS.get(component, {}), flags, where)
        agent_port = port_of_listen_address(parse_args_file(args.get("cluster-agent", "")).get("--bind"))
        if agent_port:
            self.ports["microk8s_cluster_agent"] = agent_port
            self.origins["microk8s_cluster_agent"] = where_dir + "cluster-agent --bind"
        if dqlite_info is not None and not worker:
            self._add_feature("microk8s_dqlite")
            self.absent["etcd"] = "%s/%s: MicroK8s keeps its state in dqlite" % (MICROK8S_DATA, MICROK8S_DQLITE_INFO)
            info = parse(dqlite_info)
            info = dict((str(key).lower(), value) for key, value in info.items()) if isinstance(info, dict) else {}
            port = port_of_listen_address(scalar(info.get("address")))
            if port:
                self.ports["microk8s_dqlite"] = port
                self.origins["microk8s_dqlite"] = "%s/%s Address" % (MICROK8S_DATA, MICROK8S_DQLITE_INFO)

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
        return {
            "roles": self.roles(),
            "components": dict(sorted(self.components.items())),
            "k3s": self.k3s,
            "distribution": self.distribution,
            "features": list(self.features) + (["kubelet_readonly"] if self.readonly_kubelet() else []),
            "absent_features": dict(sorted(self.absent.items())),
            "flannel_backend": list(self.flannel_backend) if self.flannel_backend else None,
            "network_provider": list(self.network_provider) if self.network_provider else None,
            "notes": list(self.notes),
            "ports": dict(sorted(self._ports_in_use().items())),
            "port_origins": dict(sorted((key, origin) for key, origin in self.origins.items()
                                        if key in self._ports_in_use())),
            "networks": dict(sorted(self.networks.items())),
            "network_origins": dict(sorted(self.network_origins.items())),
        }
