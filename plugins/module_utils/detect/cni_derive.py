# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a node's CNIs add up to for the plan: detect.cni's facts (flannel, Calico) and the agents'
(detect.cilium, detect.antrea) -> catalog features, ports with their origins, pod CIDRs, notes.
One deriver per CNI; `derive` calls them in turn."""

from __future__ import annotations

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect.cni import FLANNEL_PORT_KEYS


class Derived(object):
    """What the CNIs of a node add up to: catalog features, ports with their origins, pod CIDRs
    (the first origin named), notes. Each CNI's deriver below adds to one."""

    def __init__(self):
        self.features, self.ports, self.origins, self.pod_cidrs, self.notes = set(), {}, {}, [], []
        self.pod_cidr_origin = None

    def port(self, key, value, origin):
        self.ports[key] = value
        self.origins[key] = origin

    def pod_cidr(self, cidr, origin):
        if cidr and cidr not in self.pod_cidrs:
            self.pod_cidrs.append(cidr)
            self.pod_cidr_origin = self.pod_cidr_origin or origin

    def result(self):
        return {"features": sorted(self.features), "ports": self.ports, "port_origins": self.origins,
                "pod_cidrs": self.pod_cidrs, "pod_cidr_origin": self.pod_cidr_origin, "notes": self.notes}


def _derive_flannel(found, kind, flannel):
    """flannel, and canal's flannel half: the backend's feature and port, the pod network."""
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


def _derive_calico(found, kind, calico):
    """Calico, and canal's felix half: BGP, IPIP, VXLAN, WireGuard, Typha, health, the
    endpoint-to-host action, the IP pools."""
    if kind in ("calico", "canal") and calico["health_port"]:
        found.port("calico_health", calico["health_port"], calico["sources"]["health_port"])
    if not (kind in ("calico", "canal") or (kind is None and calico["present"])):
        return
    if kind != "canal":
        found.features.add("calico_health")           # canal's own rows hold it
    if kind != "canal" and calico["backend"] == "bird":
        found.features.add("calico_bgp")
    if calico["ipip"] != "Never":
        found.features.add("calico_ipip")
    if calico["vxlan"] != "Never" or calico["vxlan_v6"] != "Never":
        found.features.add("calico_vxlan")
        found.port("calico_vxlan", calico["vxlan_port"], calico["sources"].get("vxlan_port"))
    if calico["wireguard"]:
        found.features.add("calico_wireguard")
        found.port("calico_wireguard", calico["wireguard_port"], "calico-node environment FELIX_WIREGUARDLISTENINGPORT")
        if calico["wireguard_port_v6"]:
            found.port("calico_wireguard_v6", calico["wireguard_port_v6"],
                       "calico-node environment FELIX_WIREGUARDLISTENINGPORTV6")
    if calico["runs_typha"]:
        found.features.add("calico_typha")
    action = calico.get("endpoint_to_host_action")
    if action == "ACCEPT":
        found.features.add("calico_endpoint_to_host_accept")
    elif action == "DROP" and calico["sources"].get("endpoint_to_host_action", "").endswith("ACTION"):
        found.notes.append("calico: FELIX_DEFAULTENDPOINTTOHOSTACTION is DROP (%s): Calico drops pods' traffic to "
                           "this host that no host endpoint policy allows, whatever the plan admits from the pod "
                           "network" % calico["sources"]["endpoint_to_host_action"])
    for key, variable in (("pool_cidr", "CALICO_IPV4POOL_CIDR"), ("pool_cidr_v6", "CALICO_IPV6POOL_CIDR")):
        found.pod_cidr(calico[key], "calico-node environment " + variable)


def _derive_agent(found, kind, name, agent, default_features, default_note):
    """Cilium and Antrea: what their agent's facts say (detect.cilium, detect.antrea), or, when
    only their CNI config is there, their default mode and a note saying so."""
    if agent and agent["present"]:
        found.features.update(agent["features"])
        found.ports.update(agent["ports"])
        found.origins.update(agent["port_origins"])
        found.notes.extend(agent["notes"])
        for cidr in agent.get("pod_cidrs") or []:
            found.pod_cidr(cidr, agent.get("pod_cidr_origin"))
    elif kind == name:
        found.features.update(default_features)
        found.notes.append(default_note)


def derive(cni, flannel, calico, cilium=None, antrea=None):
    """CNI facts -> catalog features, real ports with origins, pod CIDRs (cilium: detect.cilium,
    antrea: detect.antrea)."""
    found = Derived()
    kind = cni.get("kind")
    _derive_flannel(found, kind, flannel)
    _derive_calico(found, kind, calico)
    _derive_agent(found, kind, "cilium", cilium, ("cilium_vxlan", "cilium_health"),
                  "cilium: its CNI config is there but cilium-agent was not seen running; planned as Cilium's "
                  "default (vxlan). Set microseg_features for geneve, wireguard or hubble.")
    _derive_agent(found, kind, "antrea", antrea, ("antrea", "antrea_geneve", "antrea_egress"),
                  "antrea: its CNI config is there but antrea-agent was not seen running; planned as Antrea's "
                  "default (geneve). Set microseg_features for another tunnel or encryption.")
    if kind == "weave":
        found.features.add("weave")
        found.notes.append("weave: encryption is not read from the node; add weave_encrypted to microseg_features if used.")
    return found.result()
