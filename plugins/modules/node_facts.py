#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: node_facts
short_description: Read everything the facts role needs from a node in one module run
version_added: 0.1.0
author: microseg.cluster_firewall maintainers (@microseg)
description:
  - Reads what M(microseg.cluster_firewall.docker_facts), M(microseg.cluster_firewall.cni_facts) and
    M(microseg.cluster_firewall.firewall_facts) read, in one module run, and returns the same facts
    (C(microseg_docker), C(microseg_cni), C(microseg_firewall)).
  - With O(gather_subset), it also gathers those subsets of Ansible's own facts, as
    M(ansible.builtin.setup) would (the node's default addresses, C(env)), so a play
    needs no separate fact gathering.
  - Each module run costs a connection round trip and a Python start on the node, whatever the
    module does; on a large fleet the number of module runs per node sets the run time. This
    module replaces four of them.
  - It also returns C(microseg_ssh_client), the C(SSH_CLIENT) of the controller's session. Under
    become, sudo resets the environment, so C(env) has no C(SSH_CLIENT); the session's value is
    read from the nearest ancestor process that still has it.
  - It also returns C(microseg_applied), what it found of the request
    M(microseg.cluster_firewall.host_firewall) last applied (O(keep_dir)) - the request's digest and
    whether the node still holds it - so that a run that changes nothing is one module run per node.
  - Never fails the play for what it cannot read; like the three modules, it reports it in the
    facts (C(error), C(problems)) and as a warning.
options:
  gather_subset:
    description:
      - Subsets of Ansible's own facts to gather in the same run, named as in
        M(ansible.builtin.setup)'s O(ansible.builtin.setup#module:gather_subset).
      - Only these subsets (and the facts they depend on) are gathered, not the minimal set
        M(ansible.builtin.setup) adds to every gathering. An empty list gathers none.
      - The default is what the whitelist role reads - C(network) (C(default_ipv4) and
        C(default_ipv6), the addresses peers see the node come from) and C(env) (C(SSH_CLIENT), the
        address the controller connects from).
    type: list
    elements: str
    default: [network, env]
  keep_dir:
    description:
      - The directory where M(microseg.cluster_firewall.host_firewall) keeps the rulesets (its
        O(microseg.cluster_firewall.host_firewall#module:keep_dir)), and with them the record of the
        request it last applied.
      - With it, this run also checks that record - M(microseg.cluster_firewall.host_firewall)'s own
        computation, in check mode, on the recorded request - and returns C(microseg_applied), so that
        a run where the plan is unchanged needs no M(microseg.cluster_firewall.host_firewall) module run.
      - Unset, C(microseg_applied) says that nothing is recorded.
    type: path
extends_documentation_fragment:
  - microseg.cluster_firewall.detection.docker
  - microseg.cluster_firewall.detection.cni
  - microseg.cluster_firewall.attributes
  - microseg.cluster_firewall.attributes.facts
notes:
  - "Needs root (C(become: true)): it reads iptables-save, nft, the cluster's manifests and
    C(/proc/PID/environ); run unprivileged it fails, rather than report what it could not read
    as absent."
  - The facts of O(gather_subset) do not include C(module_setup), so a later play with
    C(gathering = smart) still gathers all of Ansible's facts.
seealso:
  - module: microseg.cluster_firewall.docker_facts
  - module: microseg.cluster_firewall.cni_facts
  - module: microseg.cluster_firewall.firewall_facts
"""

EXAMPLES = r"""
- name: Read what the node runs, with its addresses (no fact gathering needed)
  microseg.cluster_firewall.node_facts:

- name: Read only what the node runs (facts were gathered already)
  microseg.cluster_firewall.node_facts:
    gather_subset: []

- name: Show what was found
  ansible.builtin.debug:
    msg: >-
      {{ ansible_facts.default_ipv4.address | default('no IPv4 route') }}:
      swarm={{ ansible_facts.microseg_docker.swarm.state | default('none') }}
      kubernetes={{ ansible_facts.microseg_cni.kubernetes.roles }}
      iptables={{ ansible_facts.microseg_firewall.iptables.variant }}
"""

RETURN = r"""
ansible_facts:
  description:
    - Facts to add to ansible_facts - C(microseg_docker), C(microseg_cni) and C(microseg_firewall)
      as M(microseg.cluster_firewall.docker_facts), M(microseg.cluster_firewall.cni_facts) and
      M(microseg.cluster_firewall.firewall_facts) return them, and Ansible's facts of
      O(gather_subset) (for example C(default_ipv4), C(default_ipv6), C(env)).
    - C(microseg_ssh_client) - the controller's C(SSH_CLIENT) (C(ADDRESS PORT SERVER_PORT)), from the
      module's environment or, under become, from the session's processes; empty when the module
      does not run in an SSH session (a local or container connection). Added in version 0.2.0.
    - "C(microseg_applied) - what the node holds of the request M(microseg.cluster_firewall.host_firewall)
      last applied - C(digest) (hex SHA-256 of the recorded request, empty without a record), C(in_sync)
      (a M(microseg.cluster_firewall.host_firewall) run with that request would change nothing: the live
      rules, the kept files and the boot restore hold it, and no commit-confirm is pending),
      C(differences) (why not), C(reported) (what host_firewall reports and does not fix) and
      C(boot_unit). Never the request itself. Added in version 0.3.0."
  returned: always
  type: dict
  sample:
    microseg_docker: {present: false, reachable: false, error: Docker is not installed (no /var/run/docker.sock, no docker binary)}
    microseg_cni: {kubernetes: {roles: [kube_node]}, cni: {kind: flannel}, problems: []}
    microseg_firewall: {iptables: {variant: nf_tables}, problems: []}
    default_ipv4: {address: 10.89.0.12, interface: eth0}
    microseg_ssh_client: 192.168.121.1 51622 22
    microseg_applied: {digest: 5d4c0f0e9a6b..., in_sync: true, differences: [], reported: [], boot_unit: ""}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.facts import ansible_collector, default_collectors
from ansible.module_utils.facts.namespace import PrefixFactNamespace

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.gather import cni, docker, firewall, ssh_session
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.node import applied_record
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.node.node_reader import require_root

# Facts the collector adds about the gathering itself: left out, so that these few subsets are
# not taken for a full gathering (gathering = smart skips hosts whose facts say module_setup).
# The collector names them without the ansible_ prefix (and Ansible reads them so).
GATHERING_FACTS = ("module_setup", "gather_subset")


def ansible_facts_of(module, subsets):
    """Ansible's own facts of these subsets (only these: no minimal set), as setup names them."""
    collector = ansible_collector.get_ansible_collector(
        all_collector_classes=default_collectors.collectors,
        namespace=PrefixFactNamespace(namespace_name="ansible", prefix="ansible_"),
        gather_subset=["!all"] + subsets)
    facts = collector.collect(module=module)
    return dict((key, value) for key, value in facts.items() if key not in GATHERING_FACTS)


def main():
    argument_spec = dict(docker.ARGUMENT_SPEC)
    argument_spec.update(cni.ARGUMENT_SPEC)
    argument_spec["gather_subset"] = dict(type="list", elements="str", default=["network", "env"])
    argument_spec["keep_dir"] = dict(type="path")
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    require_root(module)
    try:
        socket_path = docker.socket_path(module.params)
    except ValueError as error:
        module.fail_json(msg=str(error))
    facts = {}
    if module.params["gather_subset"]:
        try:
            facts.update(ansible_facts_of(module, module.params["gather_subset"]))
        except TypeError as error:     # the collector's own message names the subset and the allowed ones
            module.fail_json(msg="gather_subset: %s" % error)
    outputs = {}        # a command both gatherers need (nft list tables) runs once
    facts.update(microseg_docker=docker.gather(module, socket_path, module.params["timeout"]),
                 microseg_cni=cni.gather(module, outputs), microseg_firewall=firewall.gather(module, outputs),
                 microseg_ssh_client=ssh_session.controller_ssh_client(),
                 microseg_applied=applied_record.check(module, module.params["keep_dir"]))
    module.exit_json(changed=False, ansible_facts=facts)


if __name__ == "__main__":
    main()
