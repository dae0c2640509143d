# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Docker parsers on answers recorded from a real dockerd."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect import docker

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "docker"


def load(name):
    return json.loads((FIXTURES / name).read_text())


def test_standalone_daemon_is_not_in_a_swarm():
    info = docker.parse_info(load("info_standalone.json"))
    assert info["version"] == "20.10.24+dfsg1"
    assert info["swarm"]["state"] == "inactive" and info["swarm"]["member"] is False
    assert info["swarm"]["data_path_port"] is None
    assert info["swarm"]["data_path_port_source"].startswith("not visible on this node")
    networks = docker.parse_networks(load("networks_standalone.json"))
    assert networks["by_driver"] == {"bridge": ["bridge", "docker_gwbridge"], "host": ["host"], "null": ["none"]}
    assert networks["encrypted_overlays"] == []
    derived = docker.derive(info, networks)
    assert derived["roles"] == [] and derived["ports"] == {}
    assert "docker_bridge" in derived["features"] and "swarm_encrypted" not in derived["features"]


def test_swarm_manager_with_custom_data_path_port_encrypted_overlay_and_macvlan():
    info = docker.parse_info(load("info_swarm_manager.json"))
    swarm = info["swarm"]
    assert swarm["state"] == "active" and swarm["member"] and swarm["manager"]
    assert swarm["node_addr"] == "10.213.0.2" and swarm["manager_addrs"] == ["10.213.0.2"]
    assert swarm["manager_port"] == 2377 and swarm["nodes"] == 1
    assert swarm["data_path_port"] == 4800 and swarm["data_path_port_source"] == "Swarm.Cluster.DataPathPort"
    networks = docker.parse_networks(load("networks_swarm.json"))
    assert networks["by_driver"]["overlay"] == ["enc", "ingress"]
    assert networks["by_driver"]["macvlan"] == ["mv"]
    assert networks["encrypted_overlays"] == ["enc"]
    assert networks["verdicts"]["macvlan"].startswith("nothing to open")
    assert networks["verdicts"]["overlay"].startswith("needs the swarm ports")
    derived = docker.derive(info, networks)
    assert derived == {
        "roles": ["swarm_manager"],
        "features": ["docker_bridge", "docker_host", "docker_macvlan", "swarm_encrypted"],
        "ports": {"swarm_data_path": 4800, "swarm_manager": 2377},
        "port_origins": {"swarm_data_path": "docker info: Swarm.Cluster.DataPathPort",
                         "swarm_manager": "docker info: Swarm.RemoteManagers (this node's address)"},
        "firewall_backend": "iptables",
        "notes": [],
    }


@pytest.mark.parametrize("swarm, member, manager, role", [
    ({"LocalNodeState": "active", "ControlAvailable": False}, True, False, ["swarm_worker"]),
    ({"LocalNodeState": "locked", "ControlAvailable": False}, True, False, ["swarm_worker"]),
    ({"LocalNodeState": "pending"}, True, False, ["swarm_worker"]),
    ({"LocalNodeState": "inactive"}, False, False, []),
    ({"LocalNodeState": "weird"}, True, False, ["swarm_worker"]),     # unknown -> error, still a member
    ({}, False, False, []),
])
def test_swarm_states(swarm, member, manager, role):
    info = docker.parse_info({"Swarm": swarm})
    assert info["swarm"]["member"] is member and info["swarm"]["manager"] is manager
    assert docker.derive(info, docker.parse_networks([]))["roles"] == role


def test_ipv6_manager_address():
    info = docker.parse_info({"Swarm": {"LocalNodeState": "active", "ControlAvailable": True, "NodeID": "a",
                                        "RemoteManagers": [{"NodeID": "a", "Addr": "[fd00::2]:2400"}]}})
    assert info["swarm"]["manager_addrs"] == ["fd00::2"] and info["swarm"]["manager_port"] == 2400


def test_a_worker_cannot_see_the_data_path_port_a_manager_with_the_default_can():
    worker = docker.parse_info({"Swarm": {"LocalNodeState": "active", "ControlAvailable": False}})
    assert worker["swarm"]["data_path_port"] is None
    assert docker.derive(worker, docker.parse_networks([]))["ports"] == {}       # taken from a manager's profile
    manager = docker.parse_info({"Swarm": {"LocalNodeState": "active", "ControlAvailable": True,
                                           "Cluster": {"ID": "x", "DataPathPort": 0}}})
    assert manager["swarm"]["data_path_port"] == 4789
    assert manager["swarm"]["data_path_port_source"] == "docker default (unset)"


def test_dockers_nftables_firewall_backend_and_swarm():
    plain = docker.parse_info(load("info_standalone.json"))
    assert plain["firewall_backend"] is None                        # an older daemon does not say
    assert docker.derive(plain, docker.parse_networks([]))["firewall_backend"] == "iptables"
    backend = {"Driver": "nftables", "Info": [["ReloadedAt", "x"]]}
    nft = docker.parse_info({"ServerVersion": "29.0.1", "FirewallBackend": backend})
    derived = docker.derive(nft, docker.parse_networks([]))
    assert derived["firewall_backend"] == "nftables" and "no DOCKER-USER" in derived["notes"][0]
    swarm = docker.parse_info({"ServerVersion": "29.0.1", "FirewallBackend": {"Driver": "nftables"},
                               "Swarm": {"LocalNodeState": "active", "ControlAvailable": True}})
    assert any("not supported by Docker" in note for note in docker.derive(swarm, docker.parse_networks([]))["notes"])
