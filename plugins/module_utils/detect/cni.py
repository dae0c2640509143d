# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the CNIs' plug-ins (detect/cnis/) share. Pure: takes text/bytes, returns data.

- the CNI config: the lexicographically first .conf/.conflist/.json in /etc/cni/net.d wins, and
  Multus's cluster network when it is Multus's (its kind: detect.cnis.kind_of);
- the node's devices (`ip -details -json address show`), and the Services' addresses on them
  (kube-ipvs0, NodeLocal DNSCache);
- environment files (subnet.env, systemd EnvironmentFiles) and /proc/PID/environ.
"""

from __future__ import annotations

import json

CNI_EXTENSIONS = (".conf", ".conflist", ".json")


# --------------------------------------------------------------------- CNI config


def choose_cni_config(names):
    """The config file the container runtime uses: the lexicographically first one."""
    candidates = sorted(name for name in names if name.endswith(CNI_EXTENSIONS))
    return candidates[0] if candidates else None


def parse_cni_config(text):
    """A .conf/.conflist -> {"name", "plugins": [types]}. Raises ValueError when malformed."""
    config = json.loads(text)
    if not isinstance(config, dict):
        raise ValueError("not a JSON object")
    plugins = config.get("plugins")
    if plugins is None:
        types = [config.get("type")]
    elif isinstance(plugins, list):
        types = [plugin.get("type") for plugin in plugins if isinstance(plugin, dict)]
    else:
        raise ValueError("'plugins' is not a list")
    types = [plugin_type for plugin_type in types if plugin_type]
    if not types:
        raise ValueError("no plugin 'type'")
    return {"name": config.get("name"), "plugins": types}


# Multus sorts first (00-multus.conf) and hands the pod's network to another CNI: the thin plugin
# ("multus") inlines it in `delegates` (the first is the cluster network) or names it in
# `clusterNetwork`; the thick plugin's shim ("multus-shim") names it in `clusterNetwork`, a path
# as the daemon's container sees the host's directory (/host/etc/cni/net.d/10-calico.conflist).
MULTUS_TYPES = ("multus", "multus-shim")


def multus_delegate(text, names, multus_name):
    """A Multus config -> where its cluster network is: {"delegate": {"name", "plugins"}} (inline),
    {"file": name} (a config file of the directory), {"network": name} (a network name to find
    among the directory's files by their `name`, else a NetworkAttachmentDefinition the node
    cannot read), and always "why". names: the directory's files; without `delegates` or
    `clusterNetwork` (or a directory as clusterNetwork) the next config file in sort order."""
    config = json.loads(text)
    others = sorted(name for name in names if name.endswith(CNI_EXTENSIONS) and name != multus_name)
    network = config.get("clusterNetwork")
    if network:
        network = str(network)
        base = network.rstrip("/").rsplit("/", 1)[-1]
        if base in others:
            return {"file": base, "why": "%s clusterNetwork %s" % (multus_name, network)}
        if "/" in network and not base.endswith(CNI_EXTENSIONS):
            # a directory: Multus takes its alphabetically first config (the next one here)
            chosen = choose_cni_config(others)
            if chosen is None:
                return {"network": network, "why": "%s clusterNetwork" % multus_name}
            return {"file": chosen,
                    "why": "%s clusterNetwork %s (a directory: its first config)" % (multus_name, network)}
        stem = [name for name in others if name.rsplit(".", 1)[0] == base]
        if stem:
            return {"file": stem[0], "why": "%s clusterNetwork %s" % (multus_name, network)}
        return {"network": base, "why": "%s clusterNetwork %s" % (multus_name, network)}
    delegates = config.get("delegates")
    if isinstance(delegates, list) and delegates and isinstance(delegates[0], dict):
        return {"delegate": parse_cni_config(json.dumps(delegates[0])),
                "why": "%s delegates[0]" % multus_name}
    chosen = choose_cni_config(others)
    return {"file": chosen, "why": "%s names no cluster network: the next config file" % multus_name} if chosen \
        else {"network": None, "why": "%s names no cluster network and no other config is there" % multus_name}


# --------------------------------------------------------------------- devices


def parse_links(text):
    """`ip -details -json address show` (or `link show`) -> [{"name", "kind", "port", "vni", "addresses"}],
    addresses as "ADDRESS/PREFIX"."""
    links = []
    for link in json.loads(text or "[]"):
        info = link.get("linkinfo") or {}
        data = info.get("info_data") or {}
        links.append({
            "name": link.get("ifname"),
            "kind": info.get("info_kind"),
            "port": data.get("port"),
            "vni": data.get("id"),
            "addresses": ["%s/%s" % (item["local"], item.get("prefixlen", 128 if ":" in item["local"] else 32))
                          for item in link.get("addr_info") or [] if item.get("local")],
        })
    return links


# Devices kube-proxy and NodeLocal DNSCache put local addresses on that are not the node's own.
IPVS_DEVICE = "kube-ipvs0"
NODELOCAL_DNS_DEVICE = "nodelocaldns"


def _service_addresses(link):
    """The addresses a device holds for Services, without the IPv6 link-local one every device
    that is up gets (fe80::/10: no pod or node sends to it)."""
    found = []
    for address in (link or {}).get("addresses") or []:
        ip = address.split("/")[0]
        if not ip.lower().startswith(("fe8", "fe9", "fea", "feb")):
            found.append(ip)
    return found


def service_facts(links, kube_proxy_mode):
    """kube-proxy IPVS and NodeLocal DNSCache as the node's devices show them -> features, the
    NodeLocal DNSCache addresses and the ClusterIPs now on kube-ipvs0 (each /32 or /128)."""
    by_name = links_by_name(links)
    features, notes = [], []
    nodelocal = by_name.get(NODELOCAL_DNS_DEVICE)
    nodelocal_addresses = _service_addresses(nodelocal)
    if nodelocal is not None:
        features.append("nodelocal_dns")
        if not nodelocal_addresses:
            notes.append("nodelocal_dns: device %s has no address; set microseg_nodelocal_dns_addresses"
                         % NODELOCAL_DNS_DEVICE)
    cluster_ips = _service_addresses(by_name.get(IPVS_DEVICE))
    if kube_proxy_mode == "ipvs":
        features.append("kube_proxy_ipvs")
    return {"features": features, "nodelocal_dns": nodelocal_addresses, "cluster_ips": cluster_ips, "notes": notes}


def links_by_name(links):
    return dict((link["name"], link) for link in links)


# --------------------------------------------------------------------- environments


def parse_env_file(text):
    """KEY=VALUE lines (subnet.env, a systemd EnvironmentFile) -> dict; comments and blank lines
    skipped, one pair of quotes around a value removed (k3s's install.sh writes K3S_URL='...')."""
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("export "):
            line = line[len("export "):].strip()
        if line and not line.startswith("#") and "=" in line:
            key, _sep, value = line.partition("=")
            value = value.strip()
            if len(value) > 1 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            values[key.strip()] = value
    return values


def parse_environ(raw):
    """/proc/PID/environ bytes -> dict."""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    values = {}
    for item in raw.split("\0"):
        if "=" in item:
            key, _sep, value = item.partition("=")
            values[key] = value
    return values
