# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter observe_report: thin glue over planner/observe.py and observe_report.py (docs in observe_report.yml)."""

from __future__ import annotations

import json
import time

from ansible.errors import AnsibleFilterError

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.errors import PlanError

# module_utils are imported inside the filters (Ansible loads every filter file of the collection
# in each worker: docs/architecture.md, "The steady state")


def _hosts(nodes, hostvars, groups):
    from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.inventory import host_addresses

    hosts = {}
    for name in groups.get("all", []):
        host_vars = hostvars[name]
        addresses = list((nodes.get(name) or {}).get("addresses") or [])
        addresses += [address for address in host_addresses(host_vars) if address not in addresses]
        hosts[name] = {"addresses": addresses, "whitelist": host_vars.get("microseg_whitelist") or [],
                       "blacklist": host_vars.get("microseg_blacklist") or []}
    return hosts


def observe_report(nodes, hostvars, groups, generated=None):
    from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner import observe
    from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner import observe_report as report

    if not isinstance(nodes, dict):
        raise AnsibleFilterError("observe_report: the input must map each node to its flow_records result, got %r"
                                 % type(nodes).__name__)
    try:
        hosts = _hosts(nodes, hostvars, groups)
        observed = observe.fleet_observation(nodes, hosts, groups, time.time() if generated is None else generated)
        suggested = observe.suggestions(observed, hosts, groups)
    except (PlanError, ValueError) as error:
        raise AnsibleFilterError("observe_report: %s" % error)
    except KeyError as error:
        raise AnsibleFilterError("observe_report: host %s is not in hostvars" % error)
    current = dict((name, host["whitelist"]) for name, host in hosts.items())
    # the files as text: a large observation passes through Ansible's templating once, as strings
    return {"json": json.dumps(observed, indent=1, sort_keys=True) + "\n", "summary": report.summary_lines(observed),
            "markdown": report.markdown(observed, suggested), "html": report.html(observed, suggested),
            "yaml": report.suggested_yaml(observed, suggested, current)}


class FilterModule(object):
    def filters(self):
        return {"observe_report": observe_report}
