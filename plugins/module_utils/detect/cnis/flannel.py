# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""flannel (and canal's flannel half): its subnet.env, its net-conf.json (k3s's own when the
default path has none), its devices and the supervisor's --flannel-backend (detect.cni parses
them); for the plan, the backend's feature and port and the pod network."""

from __future__ import annotations

import os

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect import cni as detect_cni
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect.cni import FLANNEL_PORT_KEYS
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect.kube_flags import flags_from_args

NAME = "flannel"
CONFIG_TYPES = ("flannel",)
READ_BEFORE_CONFIG = True          # a Calico config over flannel is canal (calico.kind)
NET_CONF = "/etc/kube-flannel/net-conf.json"
# k3s writes the net-conf.json of its in-process flannel here (read when the default path has none).
K3S_NET_CONF = "/var/lib/rancher/k3s/agent/etc/flannel/net-conf.json"


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
            net_conf = detect_cni.parse_net_conf(net_conf_text)
        except ValueError as error:
            reader.problem("%s: malformed net-conf.json (%s)" % (net_conf_path, error))
    hint = context.kubernetes["flannel_backend"]
    if hint and hint[0] is None:
        hint = None                    # k3s --flannel-backend=none: another CNI
    flannel = detect_cni.flannel_facts(subnet_env, context.links, net_conf, tuple(hint) if hint else None)
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
    if backend in FLANNEL_PORT_KEYS and flannel["port"]:
        found.port(FLANNEL_PORT_KEYS[backend], flannel["port"], flannel.get("port_source") or flannel["source"])
    if backend == "tailscale":
        found.notes.append("flannel over Tailscale (k3s --vpn-auth): tailscaled's port %s/udp is admitted from the "
                           "cluster's nodes; when the nodes talk over their tailnet addresses (100.64.0.0/10, "
                           "fd7a:115c:a1e0::/48), the inventory must give those addresses (microseg_node_addresses)"
                           % flannel["port"])
    if backend == "wireguard" and flannel["port_v6"]:
        found.port("flannel_wireguard_v6", flannel["port_v6"], "net-conf.json ListenPortV6")
    if flannel["network"]:
        found.pod_cidr(flannel["network"], "flannel's subnet.env FLANNEL_NETWORK (or net-conf.json Network)")
