# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Calico (and canal's felix half): calico-node's environment, whether Typha runs, its devices
(detect.cni parses them); for the plan, BGP, IPIP, VXLAN, WireGuard, Typha, health, the
endpoint-to-host action and the IP pools."""

from __future__ import annotations

import os

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect import cni as detect_cni

NAME = "calico"
CONFIG_TYPES = ("calico",)
READ_BEFORE_CONFIG = False
PROCESSES = ("calico-node", "calico-felix")


def read(context):
    reader = context.reader
    env, source, runs_typha = {}, "calico-node environment", False
    for pid, argv in context.processes:
        name = os.path.basename(argv[0])
        if name == "calico-typha" or (len(argv) > 1 and "calico-typha" in argv[0]):
            runs_typha = True
        if name in PROCESSES and not env:
            raw = reader.environ(pid)
            if raw is not None and detect_cni.is_calico_environment(detect_cni.parse_environ(raw)):
                env = detect_cni.parse_environ(raw)
                source = "process %d (%s) environment" % (pid, name)
    try:
        return detect_cni.calico_facts(env, context.links, runs_typha, source)
    except ValueError as error:
        reader.problem("%s: %s" % (source, error))
        return detect_cni.calico_facts({}, context.links, runs_typha, source)


def kind(config_name, facts):
    """Canal is Calico's CNI plugin on top of flannel's data path: the file is usually named
    *canal*, and flannel's state is on the node."""
    flannel = facts.get("flannel") or {}
    return "canal" if "canal" in (config_name or "") or flannel.get("present") else NAME


def derive(found, kind, calico):
    """Calico, and canal's felix half."""
    if calico is None:
        return
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
