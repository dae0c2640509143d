# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which CNI a node runs and how it is configured. Pure: takes text/bytes, returns data.

Evidence, in the order a node shows it:
- the CNI config: the lexicographically first .conf/.conflist/.json in /etc/cni/net.d wins;
- flannel: /run/flannel/subnet.env, its devices (flannel.<VNI> vxlan with its dstport,
  flannel0 tun = udp, flannel-wg[-v6] = wireguard, flannel.ipip), net-conf.json when readable;
- calico: the calico-node/felix process environment and its devices (tunl0, vxlan.calico,
  wireguard.cali);
- kube-proxy's mode: kube-ipvs0 (ipvs), the nft table `ip kube-proxy` (nftables), else iptables.
"""

from __future__ import annotations

import json
import re

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.catalog import default_port

CNI_EXTENSIONS = (".conf", ".conflist", ".json")
# flannel backend -> its port setting in the catalog (which holds the default)
FLANNEL_PORT_KEYS = {"vxlan": "flannel_vxlan", "udp": "flannel_udp", "wireguard": "flannel_wireguard",
                     "tailscale": "tailscale"}
CALICO_DEVICES = ("tunl0", "vxlan.calico", "vxlan-v6.calico", "wireguard.cali", "wg-v6.cali")
CALICO_MODES = {"always": "Always", "crosssubnet": "CrossSubnet", "never": "Never", "off": "Never",
                "false": "Never", "": "Never"}


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
    by_name = _links_by_name(links)
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


def _links_by_name(links):
    return dict((link["name"], link) for link in links)


# --------------------------------------------------------------------- flannel


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


_WG_LISTEN_PORT = re.compile(r"\blisten-port\s+(\d+)")


def extension_backend(backend):
    """flannel's `extension` backend runs the commands it is given; k3s writes two (pkg/agent/flannel/
    setup.go): --vpn-auth's Tailscale (`tailscale set --advertise-routes`) and, before v1.26, the
    old --flannel-backend=wireguard (`wg set flannel.1 listen-port 51820`) -> (backend, port): tailscale,
    wireguard with its listen-port, or extension (commands we cannot read a port from)."""
    commands = " ".join(str(value) for key, value in sorted(backend.items()) if key.endswith("Command"))
    if "tailscale " in commands:
        return "tailscale", None
    match = _WG_LISTEN_PORT.search(commands)
    if "wg " in commands and match:
        return "wireguard", int(match.group(1))
    return "extension", None


def parse_net_conf(text):
    """flannel net-conf.json -> {"network", "backend", "port", "vni"}. Raises ValueError when malformed."""
    conf = json.loads(text)
    if not isinstance(conf, dict):
        raise ValueError("not a JSON object")
    backend = conf.get("Backend") or {}
    backend_type = (backend.get("Type") or "vxlan").lower()
    port = backend.get("ListenPort") if backend_type == "wireguard" else backend.get("Port")
    if backend_type == "extension":
        backend_type, port = extension_backend(backend)
    return {"network": conf.get("Network"), "backend": backend_type.replace("host-gw", "host_gw"),
            "port": int(port) if port else None, "port_v6": backend.get("ListenPortV6"), "vni": backend.get("VNI")}


def flannel_facts(subnet_env, links, net_conf=None, backend_hint=None):
    """subnet.env values, the node's links, net-conf.json facts -> backend with its real port.
    backend_hint: (backend, where) from a distribution that runs flannel in-process (k3s
    --flannel-backend), used when no device or net-conf.json shows the backend."""
    by_name = _links_by_name(links)
    vxlan = [link for link in links if (link["name"] or "").startswith("flannel.") and link["kind"] == "vxlan"]
    wireguard_1 = any(link["name"] == "flannel.1" and link["kind"] == "wireguard" for link in links)
    result = {"present": bool(subnet_env or vxlan or wireguard_1 or "flannel0" in by_name or net_conf or backend_hint),
              "network": subnet_env.get("FLANNEL_NETWORK") if subnet_env else None,
              "subnet": subnet_env.get("FLANNEL_SUBNET") if subnet_env else None,
              "backend": None, "port": None, "port_v6": None, "source": None}
    if not result["present"]:
        return result
    if vxlan:
        link = vxlan[0]
        result.update(backend="vxlan", port=link["port"] or default_port("flannel_vxlan"),
                      source="device %s (vxlan dstport)" % link["name"] if link["port"] else "device %s" % link["name"])
    elif "flannel0" in by_name:
        result.update(backend="udp", source="device flannel0 (tun)")
    elif "flannel-wg" in by_name or "flannel-wg-v6" in by_name:
        result.update(backend="wireguard", source="device flannel-wg")
    elif wireguard_1 and not (net_conf and net_conf["backend"] == "wireguard"):
        # k3s's old --flannel-backend=wireguard: a wireguard flannel.1 its extension backend made
        result.update(backend="wireguard", source="device flannel.1 (wireguard)")
    elif "flannel.ipip" in by_name:
        result.update(backend="ipip", source="device flannel.ipip")
    elif net_conf:
        result.update(backend=net_conf["backend"], source="net-conf.json Backend.Type")
    elif backend_hint:
        result.update(backend=backend_hint[0], source=backend_hint[1])
    else:
        result.update(backend="host_gw", source="no flannel tunnel device (host-gw)")
    if net_conf:
        if not result["network"]:
            result["network"] = net_conf["network"]
        if result["port"] is None and net_conf["port"] and net_conf["backend"] == result["backend"]:
            result.update(port=net_conf["port"], source=result["source"] + "; port from net-conf.json")
        if net_conf["port_v6"]:
            result["port_v6"] = int(net_conf["port_v6"])
    if result["port"] is None and result["backend"] in FLANNEL_PORT_KEYS:
        result["port"] = default_port(FLANNEL_PORT_KEYS[result["backend"]])
    return result


# --------------------------------------------------------------------- calico


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


def is_calico_environment(env):
    return "CALICO_NETWORKING_BACKEND" in env or any(key.startswith("FELIX_") for key in env)


def calico_mode(value):
    """Always / CrossSubnet / Never from an IPIP or VXLAN setting (case-insensitive; off/"" = Never)."""
    key = (value or "").strip().lower()
    if key not in CALICO_MODES:
        raise ValueError("%r is not Always, CrossSubnet or Never" % value)
    return CALICO_MODES[key]


def _truthy(value):
    return (value or "").strip().lower() in ("true", "1", "yes", "on")


def _calico_vxlan_port(result, env, vxlan_device, vxlan_v6_device, env_source):
    """One VXLAN port for both families (FELIX_VXLANPORT): the device's dstport first (what runs),
    then Felix's setting, then Calico's default; a v6-only VXLAN pool shows it on its device."""
    vxlan_device = vxlan_device or (vxlan_v6_device if result["vxlan"] == "Never" else None)
    if result["vxlan"] != "Never" or result["vxlan_v6"] != "Never":
        if vxlan_device and vxlan_device["port"]:
            result["vxlan_port"] = vxlan_device["port"]
            result["sources"]["vxlan_port"] = "device %s (vxlan dstport)" % vxlan_device["name"]
        elif env.get("FELIX_VXLANPORT", "").strip().isdigit():
            result["vxlan_port"] = int(env["FELIX_VXLANPORT"])
            result["sources"]["vxlan_port"] = "%s FELIX_VXLANPORT" % env_source
        else:
            result["vxlan_port"] = default_port("calico_vxlan")
            result["sources"]["vxlan_port"] = "calico default"


def _calico_wireguard(result, env, by_name, env_source):
    """Felix's WireGuard (its setting, else the device it makes) and its ports into result."""
    if _truthy(env.get("FELIX_WIREGUARDENABLED")) or "wireguard.cali" in by_name:
        result["wireguard"] = True
        result["sources"]["wireguard"] = "%s FELIX_WIREGUARDENABLED" % env_source if "FELIX_WIREGUARDENABLED" in env \
            else "device wireguard.cali"
        port = env.get("FELIX_WIREGUARDLISTENINGPORT", "").strip()
        result["wireguard_port"] = int(port) if port.isdigit() else default_port("calico_wireguard")
        if _truthy(env.get("FELIX_WIREGUARDENABLEDV6")):
            port = env.get("FELIX_WIREGUARDLISTENINGPORTV6", "").strip()
            result["wireguard_port_v6"] = int(port) if port.isdigit() else default_port("calico_wireguard_v6")


def calico_facts(env, links, runs_typha=False, env_source="calico-node environment"):
    """calico-node environment + devices -> backend, encapsulation modes and real ports.
    Bad mode values raise ValueError naming the variable."""
    by_name = _links_by_name(links)
    result = {"present": bool(env) or any(name in by_name for name in CALICO_DEVICES),
              "backend": None, "ipip": "Never", "vxlan": "Never", "vxlan_port": None, "wireguard": False,
              "wireguard_port": None, "wireguard_port_v6": None, "typha_client": False,
              "runs_typha": bool(runs_typha), "pool_cidr": None, "pool_cidr_v6": None, "vxlan_v6": "Never",
              "health_port": None, "endpoint_to_host_action": None, "sources": {}}
    if not result["present"]:
        return result
    sources = result["sources"]
    result["backend"] = (env.get("CALICO_NETWORKING_BACKEND") or "bird").strip().lower()
    sources["backend"] = "%s CALICO_NETWORKING_BACKEND" % env_source if "CALICO_NETWORKING_BACKEND" in env \
        else "calico default (bird)"
    for key, variable in (("ipip", "CALICO_IPV4POOL_IPIP"), ("vxlan", "CALICO_IPV4POOL_VXLAN"),
                          ("vxlan_v6", "CALICO_IPV6POOL_VXLAN")):
        if variable in env:
            try:
                result[key] = calico_mode(env[variable])
            except ValueError as error:
                raise ValueError("%s: %s" % (variable, error))
            sources[key] = "%s %s" % (env_source, variable)
    if "tunl0" in by_name and result["ipip"] == "Never" and "CALICO_IPV4POOL_IPIP" not in env:
        result["ipip"] = "Always"
        sources["ipip"] = "device tunl0"
    vxlan_device = by_name.get("vxlan.calico")
    if vxlan_device and result["vxlan"] == "Never" and "CALICO_IPV4POOL_VXLAN" not in env:
        result["vxlan"] = "Always"
        sources["vxlan"] = "device vxlan.calico"
    vxlan_v6_device = by_name.get("vxlan-v6.calico")
    if vxlan_v6_device and result["vxlan_v6"] == "Never" and "CALICO_IPV6POOL_VXLAN" not in env:
        result["vxlan_v6"] = "Always"
        sources["vxlan_v6"] = "device vxlan-v6.calico"
    _calico_vxlan_port(result, env, vxlan_device, vxlan_v6_device, env_source)
    _calico_wireguard(result, env, by_name, env_source)
    result["typha_client"] = bool(env.get("FELIX_TYPHAK8SSERVICENAME") or env.get("FELIX_TYPHAADDR"))
    result["pool_cidr"] = env.get("CALICO_IPV4POOL_CIDR") or None
    result["pool_cidr_v6"] = env.get("CALICO_IPV6POOL_CIDR") or None
    port = env.get("FELIX_HEALTHPORT", "").strip()
    if port.isdigit():
        result["health_port"] = int(port)
        sources["health_port"] = "%s FELIX_HEALTHPORT" % env_source
    # What Felix does with a pod's traffic to its own host after the pod's policy (cali-wl-to-host):
    # Drop (Felix's default), Accept (the manifests' and the operator's setting) or Return.
    action = env.get("FELIX_DEFAULTENDPOINTTOHOSTACTION", "").strip().upper()
    result["endpoint_to_host_action"] = action or "DROP"
    sources["endpoint_to_host_action"] = ("%s FELIX_DEFAULTENDPOINTTOHOSTACTION" % env_source if action
                                          else "Felix's default (Drop)")
    return result


# --------------------------------------------------------------------- what the planner needs
