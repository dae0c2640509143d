#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: flow_records
short_description: Read the flows a node's plan did not admit, and the hit counters of its rules
version_added: 0.2.0
author: microseg.cluster_firewall maintainers (@microseg)
description:
  - In every state, the whitelist records in the kernel each flow the plan does not admit - what
    V(block) drops, V(alert) logs and V(monitor) counts - as one entry per source address, protocol
    and destination port (or ICMP type and code), with packet and byte counters and the time it was
    first and last seen. The records live in sets of the collection's own (the nftables table
    C(inet microseg) or the ipsets C(mseg-obs-*)), bounded to 65536 entries per set and family;
    an entry expires a day after its last packet (nftables) or its first packet (ipset counts).
  - This module reads the records, the packet counters of the collection's own rules (which planned
    rules are used at all) and the node's global addresses, in one run. It reads only, unless
    O(reset) is set.
  - Used by C(playbooks/observe.yml), which maps the sources to inventory hosts and writes the
    fleet's report and a suggested whitelist.
options:
  reset:
    description:
      - Empty the record sets after reading them, to start a new observation window. Only the
        records go; the rules, their counters and the peer sets stay.
    type: bool
    default: false
notes:
  - "Needs root (C(become: true)): it reads nft, iptables-save and ipset."
  - Counts are of the packets that reached the verdict - in V(monitor) and V(alert) the first packet
    of a connection (what follows is established), in V(block) every retry.
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: With O(reset), check mode reads and says whether there were records to clear, and clears nothing.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
extends_documentation_fragment:
  - microseg.cluster_firewall.attributes
"""

EXAMPLES = r"""
- name: Read what the plan did not admit
  microseg.cluster_firewall.flow_records:
  register: flows

- name: Show the ten most hit records
  ansible.builtin.debug:
    msg: "{{ (flows.records | sort(attribute='packets', reverse=true))[:10] }}"

- name: Read the records and start a new observation window
  microseg.cluster_firewall.flow_records:
    reset: true
"""

RETURN = r"""
backend:
  description: Where the records were found - V(nftables) (also with the firewalld backend), V(iptables), or null when
    the node has none of the collection's rules.
  type: str
  returned: always
  sample: nftables
records:
  description:
    - One per source, protocol and port. C(proto) is the protocol name (C(tcp), C(udp), C(icmp), C(icmpv6), ...);
      C(port) is null for protocols without ports; C(icmp_type) and C(icmp_code) are set for ICMP only;
      C(first_seen) and C(last_seen) are Unix times on the node.
  type: list
  elements: dict
  returned: always
  sample:
    - {family: ipv4, source: 10.88.0.12, proto: tcp, port: 8080, icmp_type: null, icmp_code: null,
       packets: 3, bytes: 180, first_seen: 1795750000, last_seen: 1795750042}
rule_hits:
  description: The packet and byte counters of the collection's rules, by rule comment (the reasons' ids).
  type: list
  elements: dict
  returned: always
  sample:
    - {rule: "microseg: k8s_apiserver", packets: 1204, bytes: 72240}
addresses:
  description: The node's global addresses (the sources its peers see), from C(ip -o address).
  type: list
  elements: str
  returned: always
  sample: [10.88.0.11]
record_sets:
  description: The names of the record sets read.
  type: list
  elements: str
  returned: when the node has the collection's rules
bound:
  description: The records' bounds - C(entries_per_set) and C(timeout) in seconds.
  type: dict
  returned: always
  sample: {entries_per_set: 65536, timeout: 86400}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends import observe_host
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.node.node_reader import require_root


def main():
    module = AnsibleModule(argument_spec={"reset": {"type": "bool", "default": False}}, supports_check_mode=True)
    require_root(module)
    module.exit_json(**observe_host.gather(module, module.params["reset"]))


if __name__ == "__main__":
    main()
