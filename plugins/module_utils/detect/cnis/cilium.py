# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cilium: cilium-agent's options and its devices; for the plan, what they say, or Cilium's
default when only its CNI config is there.

cilium-agent takes its options as flags and from its config map, mounted as a directory of
one file per option (--config-dir; a flag wins), read through the process's root (the agent
runs in a container). Its devices show the data plane it really uses: cilium_vxlan or
cilium_geneve (the tunnel), cilium_wg0 (WireGuard). The parsing (options, cilium_facts) is pure.
"""

from __future__ import annotations

import os

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.catalog import default_port
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect.kube_flags import flags_from_args
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.ports import port_of_listen_address

NAME = "cilium"
CONFIG_TYPES = ("cilium-cni",)
READ_BEFORE_CONFIG = False
DEFAULT_FEATURES = ("cilium_vxlan", "cilium_health")
DEFAULT_NOTE = ("cilium: its CNI config is there but cilium-agent was not seen running; planned as Cilium's "
                "default (vxlan). Set microseg_features for geneve, wireguard or hubble.")
TUNNEL_DEVICES = {"cilium_vxlan": "vxlan", "cilium_geneve": "geneve"}
WIREGUARD_DEVICE = "cilium_wg0"
TRUE = ("true", "1", "yes", "strict")
# option -> the feature it turns on when true
SWITCHES = {
    "enable-wireguard": "cilium_wireguard",
    "enable-ipsec": "cilium_ipsec",
    "enable-hubble": "cilium_hubble",
    "mesh-auth-enabled": "cilium_mutual_auth",
    "enable-bgp-control-plane": "cilium_bgp",
    "kube-proxy-replacement": "cilium_kube_proxy_replacement",
    "enable-host-firewall": "cilium_host_firewall",
}
# option that holds a listen address or port -> its port setting in the catalog
PORT_OPTIONS = {
    "cluster-health-port": "cilium_health",
    "hubble-listen-address": "cilium_hubble",
    "mesh-auth-mutual-listener-port": "cilium_mutual_auth",
    "prometheus-serve-addr": "cilium_metrics",
}


# Cilium's own IPAM (cluster-pool, the Helm default) hands out pod addresses from these options;
# with ipam=kubernetes the pods take the node's podCIDR (kube-controller-manager's --cluster-cidr).
POOL_OPTIONS = ("cluster-pool-ipv4-cidr", "cluster-pool-ipv6-cidr")


def options(flags, config_map):
    """cilium-agent's options: its config map (file name -> content), then its flags (without
    "--"), which win. -> {option: (value, where)}."""
    found = dict((name, (value.strip(), "cilium config map %s" % name)) for name, value in (config_map or {}).items())
    for flag, value in (flags or {}).items():
        found[flag.lstrip("-")] = (value.strip() if value else "true", "cilium-agent --%s" % flag.lstrip("-"))
    return found


def cilium_facts(settings, links):
    """settings: options(); links: the node's devices -> {"present", "tunnel" (vxlan, geneve or
    None for native routing), "features", "ports", "port_origins", "notes"}."""
    devices = set(link["name"] for link in links)
    present = bool(settings) or bool(devices & (set(TUNNEL_DEVICES) | {WIREGUARD_DEVICE}))
    result = {"present": present, "tunnel": None, "features": [], "ports": {}, "port_origins": {}, "notes": [],
              "pod_cidrs": [], "pod_cidr_origin": None}
    if not present:
        return result
    features = {"cilium_health"}
    seen = [TUNNEL_DEVICES[name] for name in sorted(devices & set(TUNNEL_DEVICES))]
    routing = (settings.get("routing-mode") or ("", ""))[0].lower()
    protocol = settings.get("tunnel-protocol") or settings.get("tunnel")
    device_port = None
    if seen:
        result["tunnel"], where = seen[0], "device cilium_%s" % seen[0]
        device_port = next(link["port"] for link in links if link["name"] == "cilium_" + seen[0])
    elif routing == "native" or (protocol and protocol[0].lower() == "disabled"):
        where = settings["routing-mode"][1] if routing == "native" else protocol[1]
        result["notes"].append("cilium: native routing (%s): no tunnel to admit" % where)
    elif protocol:
        result["tunnel"], where = protocol[0].lower(), protocol[1]
    else:
        result["tunnel"], where = "vxlan", "cilium default (no tunnel device or option seen)"
        result["notes"].append("cilium: neither a tunnel device nor tunnel-protocol was seen; planned as Cilium's "
                               "default, vxlan. Set microseg_features if it runs geneve or native routing.")
    if result["tunnel"] in ("vxlan", "geneve"):
        key = "cilium_" + result["tunnel"]
        features.add(key)
        port = port_of_listen_address((settings.get("tunnel-port") or ("", ""))[0])
        if device_port:                 # what the kernel really listens on
            result["ports"][key] = device_port
            result["port_origins"][key] = "%s (%s dstport)" % (where, result["tunnel"])
        else:
            result["ports"][key] = port or default_port(key)
            result["port_origins"][key] = settings["tunnel-port"][1] if port else "%s, Cilium's default port" % where
    for option, feature in SWITCHES.items():
        if option in settings and settings[option][0].lower() in TRUE:
            features.add(feature)
    if WIREGUARD_DEVICE in devices:
        features.add("cilium_wireguard")
    if "prometheus-serve-addr" in settings and port_of_listen_address(settings["prometheus-serve-addr"][0]):
        features.add("cilium_metrics")
    for option, key in PORT_OPTIONS.items():
        port = port_of_listen_address((settings.get(option) or ("", ""))[0])
        if port and key in features:
            result["ports"][key] = port
            result["port_origins"][key] = settings[option][1]
    if (settings.get("ipam") or ("cluster-pool", ""))[0].lower() == "cluster-pool":
        for option in POOL_OPTIONS:
            cidrs = (settings.get(option) or ("", ""))[0].replace(",", " ").split()
            result["pod_cidrs"].extend(cidr for cidr in cidrs if cidr not in result["pod_cidrs"])
            if cidrs and not result["pod_cidr_origin"]:
                result["pod_cidr_origin"] = settings[option][1]
    result["features"] = sorted(features)
    return result


def read(context):
    return cilium_facts(read_options(context.reader, context.processes), context.links)


def read_options(reader, processes):
    """cilium-agent's options (options()), {} when it does not run."""
    for pid, argv in processes:
        if os.path.basename(argv[0]) != "cilium-agent":
            continue
        flags = flags_from_args(argv[1:])
        config_map = {}
        directory = flags.pop("--config-dir", "")
        if directory:
            root = os.path.join(reader.proc, str(pid), "root") + directory
            for name in reader.list_dir(root):
                if not name.startswith("."):
                    text = reader.read_text(os.path.join(root, name))
                    if text is not None:
                        config_map[name] = text
        return options(flags, config_map)
    return {}


def kind(_config_name, _facts):
    return NAME


def derive(found, kind, cilium):
    found.add_agent_facts(cilium, kind == NAME, DEFAULT_FEATURES, DEFAULT_NOTE)
