# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Antrea: antrea-agent's and antrea-controller's configs (--config, read through the process's
root) and the devices Open vSwitch makes; for the plan, what they say, or Antrea's default when
only its CNI config is there.

antrea-agent reads antrea-agent.conf (YAML, from its config map). Open vSwitch shows the
tunnel in use as a kernel device named after its type and port: genev_sys_6081,
vxlan_sys_4789, stt_sys_7471, gre_sys. The parsing (antrea_facts) is pure: data in, data out.
"""

from __future__ import annotations

import os
import re

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect import yaml_text
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect.kube_flags import flags_from_args
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.ports import port_of_listen_address

NAME = "antrea"
CONFIG_TYPES = ("antrea",)
READ_BEFORE_CONFIG = False
DEFAULT_FEATURES = ("antrea", "antrea_geneve", "antrea_egress")
DEFAULT_NOTE = ("antrea: its CNI config is there but antrea-agent was not seen running; planned as Antrea's "
                "default (geneve). Set microseg_features for another tunnel or encryption.")
AGENT_CONFIG = "/etc/antrea/antrea-agent.conf"
CONTROLLER_CONFIG = "/etc/antrea/antrea-controller.conf"
PROGRAMS = {"antrea-agent": AGENT_CONFIG, "antrea-controller": CONTROLLER_CONFIG}
GATEWAY_DEVICE = "antrea-gw0"
_TUNNEL_DEVICE = re.compile(r"^(genev|vxlan|stt|gre)_sys(?:_(\d+))?$")
DEVICE_TYPES = {"genev": "geneve", "vxlan": "vxlan", "stt": "stt", "gre": "gre"}
# tunnel type -> its catalog feature (the port setting of all of them is antrea_tunnel)
TUNNEL_FEATURES = {"geneve": "antrea_geneve", "vxlan": "antrea_vxlan", "stt": "antrea_stt", "gre": "antrea_gre"}
# encap modes that carry pods' traffic in a tunnel (hybrid: between subnets)
TUNNELLED_MODES = ("encap", "hybrid")
# option -> (its port setting, the feature it belongs to)
PORT_OPTIONS = {
    "apiPort": ("antrea_agent_api", "antrea"),
    "clusterPort": ("antrea_cluster", "antrea_egress"),
    "wireGuard.port": ("antrea_wireguard", "antrea_wireguard"),
}


def _off(value):
    return (value or "").strip().strip("'\"").lower() == "false"


def _tunnel(result, option, tunnel_devices, agent_where, features):
    """The tunnel Antrea runs (its device first: it says what really runs, then the agent's
    config) into result's tunnel, features, ports and notes."""
    mode = option("trafficEncapMode").lower() or "encap"
    port = None
    if tunnel_devices:
        match = tunnel_devices[0]
        result["tunnel"] = DEVICE_TYPES[match.group(1)]
        where = "device %s" % match.group(0)
        port = int(match.group(2)) if match.group(2) else None
    elif mode in TUNNELLED_MODES:
        result["tunnel"] = option("tunnelType").lower() or "geneve"
        where = "%s tunnelType" % agent_where if option("tunnelType") else "Antrea's default tunnel (geneve)"
        port = port_of_listen_address(option("tunnelPort"))
        where = "%s tunnelPort" % agent_where if port else where
    else:
        result["notes"].append("antrea: trafficEncapMode %s (%s): no tunnel to admit" % (mode, agent_where))
        return
    if result["tunnel"] not in TUNNEL_FEATURES:
        result["notes"].append("antrea: tunnel type %r (%s) is not geneve, vxlan, stt or gre: nothing admitted "
                               "for it; set microseg_features" % (result["tunnel"], where))
        return
    features.add(TUNNEL_FEATURES[result["tunnel"]])
    if port and result["tunnel"] != "gre":      # else the planner takes the type's default port
        result["ports"]["antrea_tunnel"] = port
        result["port_origins"]["antrea_tunnel"] = where


def antrea_facts(agent_config, controller_config, links, agent_where="antrea-agent.conf",
                 controller_where="antrea-controller.conf"):
    """agent_config / controller_config: yaml_text.dotted_scalars() of antrea-agent.conf and
    antrea-controller.conf (None when that program does not run here); links: the node's
    devices -> {"present", "tunnel", "features", "ports", "port_origins", "notes"}."""
    devices = dict((link["name"], link) for link in links)
    tunnel_devices = [match for match in (_TUNNEL_DEVICE.match(name or "") for name in sorted(devices)) if match]
    present = agent_config is not None or GATEWAY_DEVICE in devices or bool(tunnel_devices)
    result = {"present": present, "tunnel": None, "features": [], "ports": {}, "port_origins": {}, "notes": []}
    if not present:
        return result
    config = agent_config or {}
    features, ports, origins = {"antrea"}, result["ports"], result["port_origins"]

    def option(key):
        return (config.get(key) or "").strip().strip("'\"")

    _tunnel(result, option, tunnel_devices, agent_where, features)
    encryption = option("trafficEncryptionMode").lower()
    if encryption in ("ipsec", "wireguard"):
        features.add("antrea_" + encryption)
    gates = dict((key.split(".", 1)[1], value) for key, value in config.items() if key.startswith("featureGates."))
    if not _off(gates.get("Egress")):         # beta, on by default: the agents' memberlist cluster
        features.add("antrea_egress")
    if gates.get("BGPPolicy", "").strip().lower() == "true":
        features.add("antrea_bgp")
    if option("antreaProxy.proxyAll").lower() == "true" and not option(
            "antreaProxy.disableServiceHealthCheckServer").lower() == "true":
        features.add("kube_proxy_healthz")
        port = port_of_listen_address(option("antreaProxy.serviceHealthCheckServerBindAddress"))
        if port:
            ports["kube_proxy_healthz"] = port
            origins["kube_proxy_healthz"] = "%s antreaProxy.serviceHealthCheckServerBindAddress" % agent_where
    for key, (setting, feature) in PORT_OPTIONS.items():
        port = port_of_listen_address(option(key))
        if port and feature in features:
            ports[setting] = port
            origins[setting] = "%s %s" % (agent_where, key)
    if controller_config is not None:
        features.add("antrea_controller")
        port = port_of_listen_address((controller_config.get("apiPort") or ""))
        if port:
            ports["antrea_controller_api"] = port
            origins["antrea_controller_api"] = "%s apiPort" % controller_where
    result["features"] = sorted(features)
    return result


def read(context):
    reader, configs = context.reader, {}
    for pid, argv in context.processes:
        name = os.path.basename(argv[0])
        default = PROGRAMS.get(name)
        if default is None or name in configs:
            continue
        path = flags_from_args(argv[1:]).get("--config") or default
        text = reader.read_text(os.path.join(reader.proc, str(pid), "root") + path)
        if text is None:
            reader.problem("process %s (%s): its config %s cannot be read through the process; planned with "
                           "Antrea's defaults" % (pid, name, path))
        where = "process %s (%s) %s" % (pid, name, path)
        config, reason = yaml_text.load(text or "")
        if reason == yaml_text.MISSING:
            context.unread.append(where)
        elif reason is not None:
            reader.problem("%s: %s; planned with Antrea's defaults" % (where, reason))
        configs[name] = (yaml_text.dotted_scalars(config), where)
    agent, controller = configs.get("antrea-agent"), configs.get("antrea-controller")
    return antrea_facts(agent[0] if agent else None, controller[0] if controller else None,
                        context.links, agent[1] if agent else "antrea-agent.conf",
                        controller[1] if controller else "antrea-controller.conf")


def kind(_config_name, _facts):
    return NAME


def derive(found, kind, antrea):
    found.add_agent_facts(antrea, kind == NAME, DEFAULT_FEATURES, DEFAULT_NOTE)
