#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: flow_probe
short_description: Try TCP connections from this node and say which passed a firewall
version_added: 0.1.0
author: microseg.cluster_firewall maintainers (@microseg)
description:
  - Opens one TCP connection per probe, with a timeout, several at a time, and closes it at once.
  - "The state says what the firewall did: C(open) (something listens) and C(refused) (nothing
    listens, but the reset came back) both mean the packet passed; C(timeout) means it was dropped
    on the way; C(unreachable) is any other error (no route, host down)."
  - Sends nothing but the TCP handshake. Used by C(playbooks/verify.yml).
options:
  probes:
    description: The connections to try.
    type: list
    elements: dict
    required: true
    suboptions:
      address:
        description: Where to connect.
        type: str
        required: true
      port:
        description: The TCP port.
        type: int
        required: true
      target:
        description: A name for the target, returned as given.
        type: str
      expect:
        description: What the caller expects (for example V(passes) or V(blocked)), returned as given.
        type: str
      why:
        description: Why the flow is probed, returned as given.
        type: str
  timeout:
    description: Seconds to wait for each connection.
    type: float
    default: 2.0
  parallel:
    description: How many connections at a time.
    type: int
    default: 16
extends_documentation_fragment:
  - microseg.cluster_firewall.attributes
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: It only connects; nothing changes.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
"""

EXAMPLES = r"""
- name: Can this node reach the API server and etcd of cp1?
  microseg.cluster_firewall.flow_probe:
    probes:
      - {address: 10.0.0.11, port: 6443}
      - {address: 10.0.0.11, port: 2379}
    timeout: 2
"""

RETURN = r"""
results:
  description: One entry per probe, in order.
  returned: always
  type: list
  elements: dict
  contains:
    address:
      description: The address.
      type: str
    port:
      description: The port.
      type: int
    state:
      description: open, refused, timeout or unreachable.
      type: str
    error:
      description: The error of an unreachable probe.
      type: str
  sample: [{address: 10.0.0.11, port: 6443, state: open}, {address: 10.0.0.11, port: 2379, state: timeout}]
"""

import errno
import socket
import threading

from ansible.module_utils.basic import AnsibleModule


def probe(address, port, timeout):
    try:
        connection = socket.create_connection((address, port), timeout=timeout)
    except socket.timeout:
        return {"state": "timeout"}
    except (IOError, OSError) as error:
        if getattr(error, "errno", None) == errno.ECONNREFUSED:
            return {"state": "refused"}
        return {"state": "unreachable", "error": str(error)}
    connection.close()
    return {"state": "open"}


def run_all(probes, timeout, parallel):
    results = [None] * len(probes)
    slots = threading.BoundedSemaphore(max(1, parallel))

    def work(index, item):
        with slots:
            result = dict((key, value) for key, value in item.items() if value is not None)
            result.update(probe(item["address"], item["port"], timeout))
            results[index] = result
    threads = [threading.Thread(target=work, args=(index, item)) for index, item in enumerate(probes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def main():
    module = AnsibleModule(
        argument_spec=dict(
            probes=dict(type="list", elements="dict", required=True, options=dict(
                address=dict(type="str", required=True),
                port=dict(type="int", required=True),
                target=dict(type="str"),
                expect=dict(type="str"),
                why=dict(type="str"),
            )),
            timeout=dict(type="float", default=2.0),
            parallel=dict(type="int", default=16),
        ),
        supports_check_mode=True,
    )
    for item in module.params["probes"]:
        if not 1 <= item["port"] <= 65535:
            module.fail_json(msg="probes: port %d of %s is out of range; allowed: 1-65535" % (item["port"], item["address"]))
    if not 0 < module.params["timeout"] <= 60:
        module.fail_json(msg="timeout: %s is not allowed; allowed: more than 0, at most 60 seconds" % module.params["timeout"])
    module.exit_json(changed=False, results=run_all(module.params["probes"], module.params["timeout"],
                                                    module.params["parallel"]))


if __name__ == "__main__":
    main()
