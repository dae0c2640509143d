# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""flannel (and canal's flannel half): its subnet.env, its net-conf.json (k3s's own when the
default path has none), its devices (flannel.<VNI> vxlan with its dstport, flannel0 tun = udp,
flannel-wg[-v6] = wireguard, flannel.ipip) and the supervisor's --flannel-backend; for the plan,
the backend's feature and port and the pod network."""

from __future__ import annotations

import json
import os
import re

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.catalog import default_port
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect import cni as detect_cni
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect.cni import links_by_name
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect.kube_flags import flags_from_args

NAME = "flannel"
CONFIG_TYPES = ("flannel",)
READ_BEFORE_CONFIG = True          # a Calico config over flannel is canal (calico.kind)
NET_CONF = "/etc/kube-flannel/net-conf.json"
# k3s writes the net-conf.json of its in-process flannel here (read when the default path has none).
K3S_NET_CONF = "/var/lib/rancher/k3s/agent/etc/flannel/net-conf.json"
# flannel backend -> its port setting in the catalog (which holds the default)
PORT_KEYS = {"vxlan": "flannel_vxlan", "udp": "flannel_udp", "wireguard": "flannel_wireguard",
             "tailscale": "tailscale"}


def read(context):
    """flannel's facts; the hint: the supervisor's --flannel-backend (k3s, RKE2), if any."""
    reader, params = context.reader, context.params
    subnet_text = reader.read_text(params["flannel_subnet_env"])
    subnet_env = detect_cni.parse_env_file(subnet_text) if subnet_text else {}
    net_conf = None
    net_conf_path = params["flannel_net_conf"]
    net_conf_text = reader.read_text(net_conf_path)
    if net_conf_text is None and net_conf_path == NET_CONF:
        net_conf_path = K3S_NET_CONF
        net_conf_text = reader.read_text(net_conf_path)
    if net_conf_text is not None:
        try:
            net_conf = parse_net_conf(net_conf_text)
        except ValueError as error:
            reader.problem("%s: malformed net-conf.json (%s)" % (net_conf_path, error))
    hint = context.kubernetes["flannel_backend"]
    if hint and hint[0] is None:
        hint = None                    # k3s --flannel-backend=none: another CNI
    flannel = flannel_facts(subnet_env, context.links, net_conf, tuple(hint) if hint else None)
    if flannel["backend"] == "tailscale":
        read_tailscaled_port(reader, context.processes, flannel)
    return flannel


def read_tailscaled_port(reader, processes, flannel):
    """Flannel over Tailscale (k3s --vpn-auth): tailscaled's WireGuard port is its --port (the
    distributions' units pass --port=${PORT}; 41641 when not given; 0 picks one at random)."""
    for pid, argv in processes:
        if os.path.basename(argv[0]) != "tailscaled":
            continue
        value = (flags_from_args([("-" + arg) if arg.startswith("-port") else arg for arg in argv[1:]])
                 .get("--port") or "").strip()
        if value.isdigit() and int(value) > 0:
            flannel.update(port=int(value), port_source="process %s (tailscaled) --port" % pid)
        elif value == "0":
            reader.problem("process %s (tailscaled) --port=0: tailscaled picks its port at random; planned as %s, "
                           "give it a fixed --port" % (pid, flannel["port"]))
        return


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
    by_name = links_by_name(links)
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
    if result["port"] is None and result["backend"] in PORT_KEYS:
        result["port"] = default_port(PORT_KEYS[result["backend"]])
    return result


def kind(_config_name, _facts):
    return NAME


def derive(found, kind, flannel):
    """flannel, and canal's flannel half: the backend's feature and port, the pod network."""
    if flannel is None:
        return
    if not (kind in ("flannel", "canal") or (kind is None and flannel["present"])):
        return
    backend = flannel["backend"]
    if kind == "canal":
        # canal's own rows: flannel vxlan (its default) and felix's health port; WireGuard besides
        found.features.add("canal")
        if backend == "wireguard":
            found.features.add("canal_wireguard")
    elif backend == "extension":
        # commands of someone's own: nothing to read a port from; the batch goes on without it
        found.notes.append("flannel: its extension backend runs commands of its own (%s); what its traffic between "
                           "nodes needs is unknown and not planned: add it to microseg_whitelist" % flannel["source"])
    elif backend:
        found.features.add("flannel_" + backend)
    if backend in PORT_KEYS and flannel["port"]:
        found.port(PORT_KEYS[backend], flannel["port"], flannel.get("port_source") or flannel["source"])
    if backend == "tailscale":
        found.notes.append("flannel over Tailscale (k3s --vpn-auth): tailscaled's port %s/udp is admitted from the "
                           "cluster's nodes; when the nodes talk over their tailnet addresses (100.64.0.0/10, "
                           "fd7a:115c:a1e0::/48), the inventory must give those addresses (microseg_node_addresses)"
                           % flannel["port"])
    if backend == "wireguard" and flannel["port_v6"]:
        found.port("flannel_wireguard_v6", flannel["port_v6"], "net-conf.json ListenPortV6")
    if flannel["network"]:
        found.pod_cidr(flannel["network"], "flannel's subnet.env FLANNEL_NETWORK (or net-conf.json Network)")
