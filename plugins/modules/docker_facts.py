#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: docker_facts
short_description: Read what Docker runs on a node - daemon, swarm role, networks
version_added: 0.1.0
author: microseg.cluster_firewall maintainers (@microseg)
description:
  - Asks the Docker Engine API over its Unix socket (C(GET /info), C(GET /networks), C(GET /version))
    whether Docker is there, whether the node is in a swarm and as what, and which networks it uses.
  - Needs no Docker SDK on the node.
  - Gives the verdict of each network driver for the host firewall (bridge, host, macvlan and
    ipvlan need nothing; overlay needs the swarm ports) and what the whitelist planner needs
    (cluster roles, features, real ports and where each was read).
  - Never fails the play for lack of Docker; it reports C(present=false) or C(reachable=false) with the reason.
options: {}
extends_documentation_fragment:
  - microseg.cluster_firewall.detection.docker
  - microseg.cluster_firewall.attributes
  - microseg.cluster_firewall.attributes.facts
"""

EXAMPLES = r"""
- name: Read Docker and swarm facts
  microseg.cluster_firewall.docker_facts:

- name: Show the swarm role
  ansible.builtin.debug:
    msg: "{{ ansible_facts.microseg_docker.swarm.state }} manager={{ ansible_facts.microseg_docker.swarm.manager }}"
"""

RETURN = r"""
ansible_facts:
  description: Facts to add to ansible_facts.
  returned: always
  type: complex
  contains:
    microseg_docker:
      description: What Docker runs on the node.
      returned: always
      type: complex
      contains:
        present:
          description: Docker is installed (its socket or its binaries exist).
          type: bool
          returned: always
        reachable:
          description: The daemon answered.
          type: bool
          returned: always
        error:
          description: Why the daemon could not be asked, or null.
          type: str
          returned: always
        socket:
          description: The socket path asked.
          type: str
          returned: always
        version:
          description: The daemon's version.
          type: str
          returned: when reachable
        api_version:
          description: The Engine API version.
          type: str
          returned: when reachable
        firewall_backend:
          description:
            - The daemon's firewall backend as it reports it (C(FirewallBackend.Driver) of C(GET /info),
              iptables or nftables), null for daemons that do not report it (before Docker 28, iptables).
          type: str
          returned: when reachable
        swarm:
          description:
            - C(state) (inactive, pending, active, error, locked), C(member), C(manager), C(node_id),
              C(node_addr), C(manager_addrs), C(manager_port), C(nodes), C(managers),
              C(data_path_port) (4789 when unset; null on workers, which cannot see the swarm's
              settings - the planner takes it from a manager) and C(data_path_port_source).
          type: dict
          returned: when reachable
        networks:
          description:
            - C(by_driver) (driver to network names), C(encrypted_overlays) and C(verdicts)
              (driver to what the host firewall must do).
          type: dict
          returned: when reachable
        derived:
          description:
            - For the planner; C(roles) (swarm_manager or swarm_worker), C(features)
              (e.g. swarm_encrypted), C(ports), C(port_origins), C(firewall_backend) (iptables or
              nftables, the daemon's C(--firewall-backend)) and C(notes) (nftables with a swarm is
              not supported by Docker).
          type: dict
          returned: always
      sample:
        present: true
        reachable: true
        error: null
        socket: /var/run/docker.sock
        version: 20.10.24+dfsg1
        api_version: "1.41"
        swarm:
          state: active
          member: true
          manager: true
          node_addr: 10.89.0.2
          manager_addrs: [10.89.0.2]
          manager_port: 2377
          data_path_port: 4800
          data_path_port_source: Swarm.Cluster.DataPathPort
        networks:
          by_driver: {bridge: [bridge, docker_gwbridge], overlay: [ingress, secure]}
          encrypted_overlays: [secure]
        derived:
          roles: [swarm_manager]
          features: [docker_bridge, swarm_encrypted]
          ports: {swarm_data_path: 4800, swarm_manager: 2377}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.gather import docker


def main():
    module = AnsibleModule(argument_spec=docker.ARGUMENT_SPEC, supports_check_mode=True)
    try:
        socket_path = docker.socket_path(module.params)
    except ValueError as error:
        module.fail_json(msg=str(error))
    facts = docker.gather(module, socket_path, module.params["timeout"])
    module.exit_json(changed=False, ansible_facts={"microseg_docker": facts})


if __name__ == "__main__":
    main()
