# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Docker Engine API answers (GET /info, GET /networks) -> facts. Pure: takes data, returns data."""

from __future__ import annotations

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.catalog import default_port

SWARM_STATES = ("inactive", "pending", "active", "error", "locked")
# States in which the node is (or is becoming) a swarm member and needs the swarm ports.
MEMBER_STATES = ("pending", "active", "locked", "error")

# What the host firewall must do for each network driver (product guide, "Docker").
DRIVER_VERDICTS = {
    "bridge": "nothing to open: container traffic is forwarded through the bridge",
    "host": "nothing to open: containers use the host's own network stack",
    "macvlan": "nothing to open: layer 2, never crosses the host firewall",
    "ipvlan": "nothing to open: layer 2/3 on the parent interface, never crosses the host firewall",
    "null": "no networking",
    "overlay": "needs the swarm ports: 2377/tcp on managers, 7946/tcp+udp, the data-path port/udp, ESP when encrypted",
}
# Network drivers -> catalog features that only leave a note in the plan.
DRIVER_FEATURES = {"bridge": "docker_bridge", "host": "docker_host", "macvlan": "docker_macvlan", "ipvlan": "docker_macvlan"}


def _host_port(address):
    """'10.0.0.1:2377' or '[fd00::1]:2377' -> ('10.0.0.1', 2377)."""
    host, _sep, port = address.rpartition(":")
    host = host.strip("[]")
    return host, int(port) if port.isdigit() else None


def parse_info(info):
    """GET /info -> version and swarm facts."""
    swarm = info.get("Swarm") or {}
    state = (swarm.get("LocalNodeState") or "inactive").lower()
    state = state if state in SWARM_STATES else "error"
    cluster = swarm.get("Cluster") or {}
    node_id = swarm.get("NodeID") or None
    managers = []
    manager_port = None
    for manager in swarm.get("RemoteManagers") or []:
        host, port = _host_port(manager.get("Addr") or "")
        managers.append(host)
        if manager.get("NodeID") == node_id:
            manager_port = port
    # Only managers see the swarm's settings (Swarm.Cluster); a worker cannot know the port.
    if cluster:
        data_path_port = cluster.get("DataPathPort") or default_port("swarm_data_path")
        data_path_source = "Swarm.Cluster.DataPathPort" if cluster.get("DataPathPort") else "docker default (unset)"
    else:
        data_path_port, data_path_source = None, "not visible on this node (only managers show Swarm.Cluster)"
    # Docker 29 can program nftables instead of iptables (FirewallBackend.Driver; older daemons do
    # not say: iptables).
    backend = ((info.get("FirewallBackend") or {}).get("Driver") or "").strip().lower() or None
    return {
        "version": info.get("ServerVersion"),
        "firewall_backend": backend,
        "swarm": {
            "state": state,
            "member": state in MEMBER_STATES,
            "manager": bool(swarm.get("ControlAvailable")),
            "node_id": node_id,
            "node_addr": swarm.get("NodeAddr") or None,
            "manager_addrs": sorted(set(managers)),
            "manager_port": manager_port,
            "nodes": swarm.get("Nodes"),
            "managers": swarm.get("Managers"),
            "data_path_port": data_path_port,
            "data_path_port_source": data_path_source,
            "error": swarm.get("Error") or None,
        },
    }


def parse_networks(networks):
    """GET /networks -> networks by driver, encrypted overlays and the verdict for each driver."""
    by_driver = {}
    encrypted = []
    for network in networks or []:
        driver = network.get("Driver") or "unknown"
        name = network.get("Name") or network.get("Id", "?")[:12]
        by_driver.setdefault(driver, []).append(name)
        if driver == "overlay" and "encrypted" in (network.get("Options") or {}):
            encrypted.append(name)
    by_driver = dict((driver, sorted(names)) for driver, names in by_driver.items())
    verdicts = dict((driver, DRIVER_VERDICTS.get(driver, "unknown driver: check its documentation"))
                    for driver in by_driver)
    return {"by_driver": by_driver, "encrypted_overlays": sorted(encrypted), "verdicts": verdicts}


def derive(info_facts, network_facts):
    """Docker facts -> what the planner needs: cluster roles, features, real ports and their origins."""
    roles, features, ports, origins = [], set(), {}, {}
    swarm = info_facts["swarm"]
    if swarm["member"]:
        roles.append("swarm_manager" if swarm["manager"] else "swarm_worker")
        if swarm["data_path_port"] is not None:      # on workers it comes from a manager's profile
            ports["swarm_data_path"] = swarm["data_path_port"]
            origins["swarm_data_path"] = "docker info: %s" % swarm["data_path_port_source"]
        if swarm["manager"] and swarm["manager_port"]:
            ports["swarm_manager"] = swarm["manager_port"]
            origins["swarm_manager"] = "docker info: Swarm.RemoteManagers (this node's address)"
        if network_facts["encrypted_overlays"]:
            features.add("swarm_encrypted")
    for driver in network_facts["by_driver"]:
        if driver in DRIVER_FEATURES:
            features.add(DRIVER_FEATURES[driver])
    notes = []
    backend = info_facts.get("firewall_backend")
    if backend == "nftables":
        notes.append("docker: its firewall backend is nftables (tables ip/ip6 docker-bridges, no DOCKER-USER chain)")
        if swarm["member"]:
            notes.append("docker: the nftables firewall backend with swarm mode is not supported by Docker (its overlay "
                         "rules are still iptables'); run the swarm on the iptables backend")
    return {"roles": roles, "features": sorted(features), "ports": ports, "port_origins": origins,
            "firewall_backend": backend or ("iptables" if info_facts.get("version") else None), "notes": notes}
