# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""docker_facts against a real dockerd, through the ansible CLI, as the node changes under it."""
from __future__ import annotations

import socket
import threading

from conftest import docker_cli, run_module


def facts(sock, **kwargs):
    rc, result = run_module("docker_facts", "docker_host=unix://%s timeout=5" % sock, **kwargs)
    assert rc == 0 and result["changed"] is False, result
    return result["ansible_facts"]["microseg_docker"]


def test_docker_facts_follow_the_daemon(dockerd):
    # 1. a standalone daemon
    found = facts(dockerd)
    assert found["present"] and found["reachable"] and found["error"] is None
    assert found["swarm"]["state"] == "inactive" and found["swarm"]["member"] is False
    assert found["derived"]["roles"] == [] and "swarm_data_path" not in found["derived"]["ports"]
    assert found["networks"]["by_driver"]["bridge"] == ["bridge"]

    # 2. a swarm manager with a non-default data-path port
    docker_cli(dockerd, "swarm", "init", "--advertise-addr", "10.213.0.2", "--data-path-port", "4800")
    found = facts(dockerd)
    swarm = found["swarm"]
    assert swarm["state"] == "active" and swarm["manager"] is True
    assert swarm["node_addr"] == "10.213.0.2" and swarm["manager_addrs"] == ["10.213.0.2"]
    assert swarm["data_path_port"] == 4800
    assert found["derived"]["roles"] == ["swarm_manager"]
    assert found["derived"]["ports"] == {"swarm_data_path": 4800, "swarm_manager": 2377}
    assert "ingress" in found["networks"]["by_driver"]["overlay"]
    assert "swarm_encrypted" not in found["derived"]["features"]

    # 3. an encrypted overlay and a macvlan network
    docker_cli(dockerd, "network", "create", "-d", "overlay", "--opt", "encrypted", "--attachable", "secure")
    docker_cli(dockerd, "network", "create", "-d", "macvlan", "-o", "parent=lab0", "lan")
    found = facts(dockerd, check=True)        # check mode reads the same
    assert found["networks"]["encrypted_overlays"] == ["secure"]
    assert found["networks"]["by_driver"]["macvlan"] == ["lan"]
    assert found["networks"]["verdicts"]["macvlan"].startswith("nothing to open")
    assert {"swarm_encrypted", "docker_macvlan"} <= set(found["derived"]["features"])

    # 4. leaving the swarm takes the roles away again
    docker_cli(dockerd, "swarm", "leave", "--force")
    found = facts(dockerd)
    assert found["swarm"]["member"] is False and found["derived"]["roles"] == []


def test_no_daemon_is_a_fact_not_a_failure(tmp_path):
    found = facts(str(tmp_path / "absent.sock"))
    assert found["reachable"] is False
    assert "does not exist" in found["error"] or "not installed" in found["error"]


def test_a_hanging_daemon_times_out_and_is_reported(tmp_path):
    path = str(tmp_path / "hang.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    accepted = []
    thread = threading.Thread(target=lambda: accepted.append(server.accept()), daemon=True)
    thread.start()
    try:
        rc, result = run_module("docker_facts", "docker_host=unix://%s timeout=1" % path)
    finally:
        server.close()
    found = result["ansible_facts"]["microseg_docker"]
    assert rc == 0 and found["reachable"] is False
    assert "no answer from %s within 1s" % path in found["error"]


def test_bad_options_fail_with_what_is_allowed():
    rc, result = run_module("docker_facts", "docker_host=tcp://127.0.0.1:2375")
    assert rc != 0 and "allowed: unix:///PATH/TO/docker.sock" in result["msg"]
    rc, result = run_module("docker_facts", "timeout=0")
    assert rc != 0 and "timeout: 0 is not allowed" in result["msg"]
