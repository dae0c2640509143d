# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""k3s and RKE2: one supervisor process, `NAME server` or `NAME agent`, configured by flags, by a
flat YAML file whose keys are the flags without "--" (plus files in CONFIG.d/, read in name
order; a flag on the command line wins over the files) and by the environment variables some
flags document (k3s-io/k3s and rancher/rke2 `pkg/cli/cmds`: `[$K3S_URL]`, `[$RKE2_CNI]`...).
k3s runs the control plane in that process; an RKE2 server runs it as static pods (read from
their manifests) and listens for its agents on the supervisor port. Both run etcd on servers by
default (k3s: with --cluster-init or when joining with --server; otherwise SQLite, local only).
Pure: takes text and data, returns data; the KubernetesFacts it is given collects the result.
"""

from __future__ import annotations

import os
import posixpath
from collections import namedtuple

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect.kube_flags import (
    SECRET_VALUE,
    SERVER_COMPONENTS,
    flags_from_args,
    is_secret,
)
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect.yaml_text import scalar

K3S_PORTS = {"apiserver": "--https-listen-port", "nodeport_range": "--service-node-port-range"}
K3S_NETWORKS = {"service_cidrs": "--service-cidr", "pod_cidrs": "--cluster-cidr"}
# Variables both read (the flag's EnvVar in their CLI definitions); any other variable with the
# prefix stands for no flag and is dropped unread.
_COMMON_ENV = {"CONFIG_FILE": "--config", "DEBUG": "--debug", "DATA_DIR": "--data-dir",
               "KUBECONFIG_OUTPUT": "--write-kubeconfig", "KUBECONFIG_MODE": "--write-kubeconfig-mode",
               "KUBECONFIG_GROUP": "--write-kubeconfig-group", "TOKEN": "--token", "TOKEN_FILE": "--token-file",
               "AGENT_TOKEN": "--agent-token", "AGENT_TOKEN_FILE": "--agent-token-file", "URL": "--server",
               "CLUSTER_RESET": "--cluster-reset", "DATASTORE_ENDPOINT": "--datastore-endpoint",
               "DATASTORE_CAFILE": "--datastore-cafile", "DATASTORE_CERTFILE": "--datastore-certfile",
               "DATASTORE_KEYFILE": "--datastore-keyfile", "NODE_NAME": "--node-name", "SELINUX": "--selinux",
               "LB_SERVER_PORT": "--lb-server-port", "RESOLV_CONF": "--resolv-conf"}
K3S_ENV = dict(("K3S_" + name, flag) for name, flag in list(_COMMON_ENV.items()) + [
    ("CLUSTER_INIT", "--cluster-init"), ("VPN_AUTH", "--vpn-auth"), ("VPN_AUTH_FILE", "--vpn-auth-file")])
RKE2_ENV = dict(("RKE2_" + name, flag) for name, flag in list(_COMMON_ENV.items()) + [
    ("CNI", "--cni"), ("ENABLE_SERVICELB", "--enable-servicelb"), ("CIS_PROFILE", "--profile"),
    ("SYSTEM_DEFAULT_REGISTRY", "--system-default-registry")])
# the boolean flags among them (only these read "1"/"true" as a bare flag, "0"/"false" as off)
BOOLEAN_FLAGS = ("--cluster-init", "--cluster-reset", "--debug", "--selinux", "--enable-servicelb")
# the short forms of the flags that matter here (urfave/cli aliases: `--config FILE, -c FILE`)
SHORT_FLAGS = {"-c": "--config", "-s": "--server", "-t": "--token", "-d": "--data-dir", "-o": "--write-kubeconfig"}
# The environment files the units read, each a list of alternatives (the first that exists is
# read), in the unit's order (a later file wins), {name} the unit's name without `.service`
# (systemd's %N). k3s install.sh: /etc/default/%N, /etc/sysconfig/%N, then the file it writes,
# /etc/systemd/system/%N.service.env (OpenRC: /etc/rancher/k3s/%N.env). RKE2's units (tarball
# and RPM): /etc/default/%N, /etc/sysconfig/%N, PREFIX/lib/systemd/system/%N.env, PREFIX being
# where the rke2 binary is (/usr/local; /opt/rke2 where /usr/local is read-only; /usr from the RPM).
K3S_ENV_FILES = (("/etc/default/{name}",), ("/etc/sysconfig/{name}",),
                 ("/etc/systemd/system/{name}.service.env", "/etc/rancher/k3s/{name}.env"))
RKE2_ENV_FILES = (("/etc/default/{name}",), ("/etc/sysconfig/{name}",), ("{prefix}/lib/systemd/system/{name}.env",))
RKE2_PREFIXES = ("/usr/local", "/opt/rke2", "/usr")
Supervisor = namedtuple("Supervisor", "config ports networks features etcd env env_files units")
SUPERVISORS = {
    "k3s": Supervisor("/etc/rancher/k3s/config.yaml", K3S_PORTS, K3S_NETWORKS, (), "when clustered",
                      K3S_ENV, K3S_ENV_FILES, {"server": "k3s", "agent": "k3s-agent"}),
    "rke2": Supervisor("/etc/rancher/rke2/config.yaml", {"nodeport_range": "--service-node-port-range"},
                       K3S_NETWORKS, ("rke2_supervisor",), "always",
                       RKE2_ENV, RKE2_ENV_FILES, {"server": "rke2-server", "agent": "rke2-agent"}),
}
# k3s runs flannel in-process: --flannel-backend -> flannel's backend (none: another CNI).
K3S_FLANNEL_BACKENDS = {"vxlan": "vxlan", "host-gw": "host_gw", "wireguard-native": "wireguard",
                        "wireguard": "wireguard", "ipsec": "ipsec", "none": None}
# The environment variable that moves k3s's embedded registry's peer-to-peer port (default 5001).
K3S_P2P_PORT = "K3S_P2P_PORT"
# RKE2's --cni values (`cni: [multus, canal]`: Multus in front of the CNI after it) -> the CNI kind
RKE2_CNIS = {"canal": "canal", "calico": "calico", "cilium": "cilium", "flannel": "flannel"}
RKE2_DEFAULT_CNI = "canal"


def supervisor_of(argv):
    """(distribution, role) of a `k3s|rke2 server|agent` argv (words), else None."""
    if len(argv) > 1 and os.path.basename(argv[0]) in SUPERVISORS and argv[1] in ("server", "agent"):
        return os.path.basename(argv[0]), argv[1]
    return None


def command_flags(argv):
    """A supervisor's argv -> its flags, the short forms (-c, -s, -t, -d) as their long ones."""
    return flags_from_args(argv[2:], SHORT_FLAGS)


def environment_flags(distribution, env, where):
    """A supervisor's environment (a process's, or an environment file's KEY=VALUE) -> {flag:
    (value, origin)} for the variables its CLI documents: booleans as it reads them (true -> a bare
    flag "", false -> None: off), secrets' values withheld; other variables are not kept at all."""
    table = SUPERVISORS[distribution].env
    flags = {}
    for name, value in sorted(env.items()):
        flag = table.get(name)
        if flag is None:
            continue
        value = (value or "").strip()
        if is_secret(name):
            value = SECRET_VALUE if value else ""
        elif value.lower() in ("false", "0") and flag in BOOLEAN_FLAGS:
            value = None                     # off: it also turns off what an earlier layer set
        elif value.lower() in ("true", "1") and flag in BOOLEAN_FLAGS:
            value = ""
        flags[flag] = (value, "%s %s" % (where, name))
    return flags


def k3s_environment_flags(env, where):
    """k3s's documented variables as flags (environment_flags for k3s)."""
    return environment_flags("k3s", env, where)


def unit_of_cgroup(text):
    """/proc/PID/cgroup -> the systemd service the process runs in (k3s.service), or None."""
    for line in (text or "").splitlines():
        for part in line.split("/"):
            if part.endswith(".service"):
                return part
    return None


def environment_files(distribution, role, unit=None, binary=None):
    """The environment files a k3s/RKE2 unit reads, in its order: [[alternatives]] (read the first
    of each that exists; a later group wins). unit: the process's systemd unit (its cgroup), else
    the installer's name for the role; binary: argv[0], whose prefix holds RKE2's .env file."""
    spec = SUPERVISORS[distribution]
    name = (unit or spec.units[role])
    name = name[:-len(".service")] if name.endswith(".service") else name
    prefixes = RKE2_PREFIXES
    if binary and posixpath.isabs(binary) and posixpath.basename(posixpath.dirname(binary)) == "bin":
        prefixes = (posixpath.dirname(posixpath.dirname(binary)),)
    groups = []
    for templates in spec.env_files:
        paths = [template.format(name=name, prefix=prefix) for template in templates for prefix in prefixes]
        groups.append(list(dict.fromkeys(paths)))
    return groups


def config_path(distribution, flags, env_layers):
    """The config file a supervisor reads and where that was said: its *_CONFIG_FILE variable (it
    wins over the flag, as configfilearg's findConfigFileFlag has it), --config/-c, else the default."""
    variable = [name for name, flag in SUPERVISORS[distribution].env.items() if flag == "--config"][0]
    for variables, where in reversed(env_layers or []):
        if (variables.get(variable) or "").strip():
            return variables[variable].strip(), "%s %s" % (where, variable)
    if (flags.get("--config") or "").strip():
        return flags["--config"].strip(), "--config"
    return SUPERVISORS[distribution].config, None


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
        elif is_secret(name) and value:
            value = SECRET_VALUE
        flags.append(("--" + name.lstrip("-"), value, append))
    return flags


def add_config(found, path, flags):
    """A config file's flags [(flag, value, append)] into found {flag: (value, where)}: a later
    file's key replaces an earlier one's, `key+` appends to it (configfilearg, k3s and RKE2 alike)."""
    for flag, value, append in flags:
        if append and value is not None and (found.get(flag) or (None,))[0]:
            value = found[flag][0] + "," + value        # appended to what the files before gave
        found[flag] = (value, "%s %s" % (path, flag[2:]))


def layered_flags(facts, distribution, flags, env):
    """The flags the command line does not give, from the config files (facts.configs) over the
    environment layers [(variables, where)] (later layers win): {flag: (value, where)}."""
    config = {}
    for variables, env_where in env or []:
        config.update(environment_flags(distribution, variables, env_where))
        if distribution == "k3s":
            k3s_p2p_port(facts, variables, env_where)
    config.update(facts.configs.get(distribution, {}))
    return dict((flag, entry) for flag, entry in config.items() if flag not in flags and entry[0] is not None)


def manifest_dir(facts, distribution, flags, env=None):
    """An RKE2 node's static pod manifests when --data-dir (config, RKE2_DATA_DIR) moves them:
    DATA_DIR/agent/pod-manifests, else None (the default directory is read anyway)."""
    if distribution != "rke2":
        return None
    value = flags.get("--data-dir") or (layered_flags(facts, distribution, flags, env).get("--data-dir") or ("",))[0]
    return posixpath.join(value.strip(), "agent", "pod-manifests") if (value or "").strip() else None


def observe(facts, distribution, role, flags, where, env=None):
    """`k3s|rke2 server|agent`: roles, ports and networks from its flags, then from its config
    files, then from its environment, for the flags the command line does not give. env: the
    process's environment as layers [(variables, where they were read)], later ones winning (its
    unit's environment files, then its own environment)."""
    spec = SUPERVISORS[distribution]
    config = layered_flags(facts, distribution, flags, env)
    facts.distribution = distribution
    if role == "agent":
        if distribution == "k3s":
            facts.k3s = facts.k3s or "agent"
            _k3s_vpn(facts, flags, config, where)
        facts.components.setdefault("kubelet", where)
        return distribution
    if distribution == "k3s":
        facts.k3s = "server"
    for component in SERVER_COMPONENTS:
        facts.components.setdefault(component, where)
    clustered = {"--cluster-init", "--server"} & (set(flags) | set(config))
    if spec.etcd == "always" or clustered:
        facts.components.setdefault("etcd", where)
    else:
        facts.absent["etcd"] = "%s: k3s keeps its state in SQLite (no --cluster-init, no --server)" % where
    for feature in spec.features:
        facts.add_feature(feature)
    _k3s_flannel(facts, flags, config, where)
    if distribution == "k3s" and "--embedded-registry" in (set(flags) | set(config)):
        facts.add_feature("k3s_embedded_registry")
    if distribution == "rke2":
        _rke2_cni(facts, flags, config, where)
    facts.set_ports(spec.ports, flags, where)
    facts.set_networks(spec.networks, flags, where)
    for flag, (value, config_where) in sorted(config.items()):
        facts.set_ports(spec.ports, {flag: value}, None, config_where)
        facts.set_networks(spec.networks, {flag: value}, None, config_where)
    return distribution


def _rke2_cni(facts, flags, config, where):
    """An RKE2 server's --cni (flag, config's `cni:`, RKE2_CNI; canal when none says): the CNIs it
    deploys, Multus first when it is there. Compared with the node's CNI config by rke2_cni_notes."""
    if "--cni" in flags:
        value, origin = flags["--cni"], "%s --cni" % where
    elif "--cni" in config:
        value, origin = config["--cni"]
    else:
        value, origin = RKE2_DEFAULT_CNI, "RKE2's default CNI (no --cni, cni: or RKE2_CNI)"
    names = [name.strip().lower() for name in (value or "").split(",") if name.strip()]
    facts.supervisor_cni = (names or [RKE2_DEFAULT_CNI], origin)


def rke2_cni_notes(cni, supervisor_cni):
    """RKE2's --cni against the CNI config the node shows (cni: read_cni_config's facts):
    (kind to plan with when the node shows none yet, or None; notes). The config on the node wins."""
    if not supervisor_cni:
        return None, []
    names, origin = supervisor_cni
    named = [name for name in names if name != "multus"]
    if named[:1] == ["none"] or not named:
        return None, ["rke2: %s is none: the CNI is the one you installed, planned from what the node shows of it" % origin]
    kind = RKE2_CNIS.get(named[0])
    if kind is None:
        return None, ["rke2: %s names %s, which RKE2 does not deploy: nothing planned from it" % (origin, named[0])]
    if cni.get("kind") is None:
        return kind, ["rke2: no CNI config in the node's CNI directory yet; planned as %s, which %s names, with "
                      "its defaults (run the facts again once its pods run)" % (kind, origin)]
    if cni["kind"] != kind:
        return None, ["rke2: %s names %s but the node's CNI config is %s (%s): planned from the config on the node"
                      % (origin, kind, cni["kind"], cni.get("config_file"))]
    return None, []


def _k3s_flannel(facts, flags, config, where):
    """A k3s server's --flannel-backend (agents take the servers'; k3s's default is vxlan)."""
    if facts.distribution != "k3s":
        return
    value = None
    if "--flannel-backend" in flags:
        value, origin = flags["--flannel-backend"], "%s --flannel-backend" % where
    elif "--flannel-backend" in config:
        value, origin = config["--flannel-backend"]
    if value is not None and value.strip().lower() in K3S_FLANNEL_BACKENDS:
        facts.flannel_backend = (K3S_FLANNEL_BACKENDS[value.strip().lower()], origin)
    _k3s_vpn(facts, flags, config, where)


def _k3s_vpn(facts, flags, config, where):
    """k3s --vpn-auth (or --vpn-auth-file): flannel runs over the VPN (Tailscale), on servers
    and agents alike; the value is a secret and is not kept."""
    if facts.distribution != "k3s":
        return
    for flag in ("--vpn-auth", "--vpn-auth-file"):
        if flag in flags:
            facts.flannel_backend = ("tailscale", "%s %s" % (where, flag))
            return
        if flag in config:
            facts.flannel_backend = ("tailscale", config[flag][1])
            return


def k3s_p2p_port(facts, env, where):
    """K3S_P2P_PORT moves Spegel's peer-to-peer port (a variable of its own, no flag)."""
    value = (env.get(K3S_P2P_PORT) or "").strip()
    if value.isdigit():
        facts.ports["k3s_spegel_p2p"] = int(value)
        facts.origins["k3s_spegel_p2p"] = "%s %s" % (where, K3S_P2P_PORT)
