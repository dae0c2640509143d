# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every Kubernetes distribution's detection shares: command lines as flags, the
components' port and network flags, the URLs and args files their values come in, and which
values are secrets (never kept). Pure: takes text, returns data."""

from __future__ import annotations

import re

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect.yaml_text import scalar

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
COMPONENTS = tuple(COMPONENT_PORTS) + ("kube-proxy",)
SERVER_COMPONENTS = ("kube-apiserver", "kube-scheduler", "kube-controller-manager", "kubelet")
# Variables and config keys whose values are secrets (tokens, join keys, credentials in a
# datastore's DSN): only that they are set is kept, never their value, so it cannot leave the node.
_SECRET_WORDS = ("TOKEN", "SECRET", "PASSWORD", "ACCESS_KEY", "VPN_AUTH", "DATASTORE_ENDPOINT")
SECRET_VALUE = "(secret, not read)"


def is_secret(name):
    """A config key or variable whose value is a secret (token, agent-token, vpn-auth, the
    datastore endpoint's credentials...): only that it is set is kept."""
    name = name.upper().replace("-", "_")
    return any(word in name for word in _SECRET_WORDS)


def flags_from_args(args, aliases=None):
    """['--a=1', '--b', '2', '--c'] -> {'--a': '1', '--b': '2', '--c': ''} (the last one wins).
    aliases: {short flag: long flag} ({'-c': '--config'}) for the short forms a program takes;
    other single-dash words are skipped."""
    aliases = aliases or {}
    flags = {}
    index = 0
    while index < len(args):
        name, sep, value = args[index].partition("=")
        name = aliases.get(name, name)
        if name.startswith("--"):
            if not sep and index + 1 < len(args) and not args[index + 1].startswith("-"):
                value = args[index + 1]
                index += 1
            flags[name] = value
        index += 1
    return flags


def argv_words(argv):
    """A process's argv; one that rewrote its title into one string is split into words."""
    if len(argv) == 1 and " " in argv[0]:
        return argv[0].split()
    return argv


def ports_from_urls(value):
    """'https://127.0.0.1:2379,https://10.0.0.1:2379' -> [2379]; URLs without a port are skipped."""
    ports = set()
    for url in value.split(","):
        match = re.search(r":(\d+)/?$", url.strip())
        if match:
            ports.add(int(match.group(1)))
    return sorted(ports)


def port_value(flag, raw):
    """A port flag's value as the plan takes it: etcd's listen URLs give their ports ("a,b")."""
    if flag in ("--listen-client-urls", "--listen-peer-urls"):
        ports = ports_from_urls(raw)
        return ",".join(str(port) for port in ports) if ports else None
    return raw.strip() or None


def parse_args_file(text):
    """A MicroK8s args file (`--flag=value` or `--flag value` lines, # comments) -> flags."""
    words = []
    for line in text.splitlines():
        line = "" if line.lstrip().startswith("#") else line.split(" #", 1)[0]
        words.extend(part.strip("'\"") for part in line.split())
    return flags_from_args(words)


def kubelet_config_port(data, key="port"):
    """KubeletConfiguration (its first document) -> its top-level `port` (or another top-level
    key) as an int, or None."""
    value = data.get(key) if isinstance(data, dict) else None
    value = scalar(value)
    return int(value) if value and value.isdigit() else None
