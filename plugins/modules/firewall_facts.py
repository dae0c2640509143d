#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: firewall_facts
short_description: Read a node's firewall backend and the rules others put there
version_added: 0.1.0
author: microseg.cluster_firewall maintainers (@microseg)
description:
  - Which iptables variant the node uses (legacy or nf_tables, from C(iptables --version) and which
    variant already holds rules), whether nftables is there and which tables it has, whether
    firewalld or ufw is active.
  - The chains and tables of the neighbours whose rules must be left alone, by owner - Kubernetes
    (C(KUBE-*), nft table C(kube-proxy)), Calico (C(cali-*), nft table C(calico)), Docker
    (C(DOCKER*)), flannel (C(FLANNEL*)), Cilium, Weave - and this collection's own (C(MICROSEG*)).
  - What may still drop packets after this collection's rules - each variant's INPUT policy and
    first unconditional DROP/REJECT, and every nftables base chain on the input hook with its
    policy and whether a rule drops every packet (the planner turns these into C(blocked_by)).
  - Reads only (C(iptables-save), C(nft list tables), C(nft -j list ruleset)); a missing binary or
    a command that fails is reported in C(problems) and as a warning.
options: {}
notes:
  - "Needs root (C(become: true)): it reads iptables-save, nft, the cluster's manifests and
    C(/proc/PID/environ); run unprivileged it fails, rather than report what it could not read
    as absent."
extends_documentation_fragment:
  - microseg.cluster_firewall.attributes
  - microseg.cluster_firewall.attributes.facts
"""

EXAMPLES = r"""
- name: Read the firewall backend
  microseg.cluster_firewall.firewall_facts:

- name: Say which iptables variant holds the rules
  ansible.builtin.debug:
    msg: "{{ ansible_facts.microseg_firewall.iptables.variant }} ({{ ansible_facts.microseg_firewall.iptables.reason }})"
"""

RETURN = r"""
ansible_facts:
  description: Facts to add to ansible_facts.
  returned: always
  type: complex
  contains:
    microseg_firewall:
      description: The node's firewall backend and its foreign rules.
      returned: always
      type: complex
      contains:
        iptables:
          description:
            - C(present), C(version), C(default_variant) (what plain C(iptables) is), C(variant)
              (the one to use - legacy or nf_tables), C(reason), C(legacy_rules), C(nft_rules),
              C(input) (variant to family to C(policy) and C(terminal), INPUT's first unconditional
              DROP/REJECT or null).
          type: dict
          returned: always
        nftables:
          description:
            - C(present), C(tables) (list of C(family name)), C(owners) (owner to its tables) and
              C(input_chains) (base chains on the input hook but iptables-nft's own - C(table), C(chain),
              C(prio), C(policy), C(drops_all)).
          type: dict
          returned: always
        firewalld:
          description: C(active) - firewalld is running; C(backend) - its FirewallBackend (C(nftables) or C(iptables)).
          type: dict
          returned: always
        ufw:
          description: C(active) - ufw is enabled.
          type: dict
          returned: always
        commands:
          description:
            - Which of the commands the backends run the node has (C(ipset), C(iptables-restore),
              C(ip6tables-restore), C(nft), C(firewall-cmd), C(ufw)), looked up in C(PATH) and the
              C(sbin) directories.
          type: list
          elements: str
          returned: always
          version_added: 0.2.0
        foreign_chains:
          description:
            - Owner to its chains (C(table/CHAIN)) in the chosen iptables variant, IPv4 and IPv6
              (C(ipv4), C(ipv6)).
          type: dict
          returned: always
        problems:
          description: What could not be read, one line each.
          type: list
          elements: str
          returned: always
      sample:
        iptables: {present: true, version: 1.8.9, default_variant: nf_tables, variant: nf_tables,
                   reason: only iptables-nft holds rules (12), legacy_rules: 0, nft_rules: 12}
        nftables: {present: true, tables: [ip filter, ip kube-proxy], owners: {kubernetes: [ip kube-proxy]}}
        firewalld: {active: false, backend: null}
        ufw: {active: false}
        commands: [ipset, iptables-restore, ip6tables-restore, nft]
        foreign_chains: {ipv4: {kubernetes: [filter/KUBE-FIREWALL], docker: [filter/DOCKER-USER]}, ipv6: {}}
        problems: []
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.gather import firewall
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.node.node_reader import require_root


def main():
    module = AnsibleModule(argument_spec={}, supports_check_mode=True)
    require_root(module)
    module.exit_json(changed=False, ansible_facts={"microseg_firewall": firewall.gather(module)})


if __name__ == "__main__":
    main()
