# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Calico (and canal's felix half): the calico-node/felix process environment, whether Typha
runs, its devices (tunl0, vxlan.calico, vxlan-v6.calico, wireguard.cali, wg-v6.cali); for the
plan, BGP, IPIP, VXLAN, WireGuard, Typha, health, the endpoint-to-host action and the IP pools."""

from __future__ import annotations

import os

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.catalog import default_port
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect import cni as detect_cni
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect.cni import links_by_name

NAME = "calico"
CONFIG_TYPES = ("calico",)
READ_BEFORE_CONFIG = False
PROCESSES = ("calico-node", "calico-felix")
DEVICES = ("tunl0", "vxlan.calico", "vxlan-v6.calico", "wireguard.cali", "wg-v6.cali")
MODES = {"always": "Always", "crosssubnet": "CrossSubnet", "never": "Never", "off": "Never",
         "false": "Never", "": "Never"}


def read(context):
    reader = context.reader
    env, source, runs_typha = {}, "calico-node environment", False
    for pid, argv in context.processes:
        name = os.path.basename(argv[0])
        if name == "calico-typha" or (len(argv) > 1 and "calico-typha" in argv[0]):
            runs_typha = True
        if name in PROCESSES and not env:
            raw = reader.environ(pid)
            if raw is not None and is_calico_environment(detect_cni.parse_environ(raw)):
                env = detect_cni.parse_environ(raw)
                source = "process %d (%s) environment" % (pid, name)
    try:
        return calico_facts(env, context.links, runs_typha, source)
    except ValueError as error:
        reader.problem("%s: %s" % (source, error))
        return calico_facts({}, context.links, runs_typha, source)


def is_calico_environment(env):
    return "CALICO_NETWORKING_BACKEND" in env or any(key.startswith("FELIX_") for key in env)


def calico_mode(value):
    """Always / CrossSubnet / Never from an IPIP or VXLAN setting (case-insensitive; off/"" = Never)."""
    key = (value or "").strip().lower()
    if key not in MODES:
        raise ValueError("%r is not Always, CrossSubnet or Never" % value)
    return MODES[key]


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
    by_name = links_by_name(links)
    result = {"present": bool(env) or any(name in by_name for name in DEVICES),
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
