# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What Docker runs on a node, asked over its Unix socket (docker_facts, node_facts)."""

from __future__ import annotations

import os

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect import docker as detect
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.node.docker_api import DockerAPIError, docker_get


ARGUMENT_SPEC = dict(
    docker_host=dict(type="str", default="unix:///var/run/docker.sock"),
    timeout=dict(type="int", default=10),
)


def socket_path(params):
    """The socket path of docker_host; ValueError naming the value when it is not allowed."""
    docker_host = params["docker_host"]
    if not docker_host.startswith("unix://") or len(docker_host) <= len("unix://"):
        raise ValueError("docker_host: %r is not supported; allowed: unix:///PATH/TO/docker.sock" % docker_host)
    if params["timeout"] < 1:
        raise ValueError("timeout: %d is not allowed; allowed: 1 or more seconds" % params["timeout"])
    return docker_host[len("unix://"):]


def gather(module, socket_path, timeout):
    facts = {"present": os.path.exists(socket_path) or bool(module.get_bin_path("dockerd") or module.get_bin_path("docker")),
             "reachable": False, "error": None, "socket": socket_path,
             "derived": {"roles": [], "features": [], "ports": {}, "port_origins": {}, "firewall_backend": None,
                         "notes": []}}
    if not facts["present"]:
        facts["error"] = "Docker is not installed (no %s, no docker binary)" % socket_path
        return facts
    if not os.path.exists(socket_path):
        facts["error"] = "the Docker daemon is not running: %s does not exist" % socket_path
        return facts
    try:
        info = docker_get(socket_path, "/info", timeout)
        networks = docker_get(socket_path, "/networks", timeout)
        version = docker_get(socket_path, "/version", timeout)
    except DockerAPIError as error:
        facts["error"] = str(error)
        # a daemon that is there but does not answer is worth a warning: the swarm role then comes
        # from the inventory groups only
        module.warn("Docker at %s: %s; the node's swarm role is taken from the inventory groups only"
                    % (socket_path, error))
        return facts
    info_facts = detect.parse_info(info)
    network_facts = detect.parse_networks(networks)
    facts.update(reachable=True, version=info_facts["version"], api_version=version.get("ApiVersion"),
                 firewall_backend=info_facts["firewall_backend"],
                 swarm=info_facts["swarm"], networks=network_facts,
                 derived=detect.derive(info_facts, network_facts))
    return facts
