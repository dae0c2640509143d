# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters flow_matrix and flow_verdicts: thin glue over module_utils.verify (docs in the .yml files)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

# module_utils are imported inside the filters (Ansible loads every filter file of the collection
# in each worker: docs/architecture.md, "The steady state")


def flow_matrix(plans, inventory, closed_port=None):
    from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.verify import DEFAULT_CLOSED_PORT, probe_matrix

    if not isinstance(plans, dict) or not isinstance(inventory, dict) or "hosts" not in inventory:
        raise AnsibleFilterError("flow_matrix: expects {host: plan} and the cluster_inventory result")
    addresses = dict((host, entry.get("addresses") or []) for host, entry in inventory["hosts"].items())
    return probe_matrix(plans, addresses, int(DEFAULT_CLOSED_PORT if closed_port is None else closed_port))


def flow_verdicts(matrix, results):
    from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.verify import verdict_table, verdicts

    rows = verdicts(matrix, results or {})
    return {"rows": rows, "broken": [row for row in rows if not row["ok"]], "table": verdict_table(rows)}


class FilterModule(object):
    def filters(self):
        return {"flow_matrix": flow_matrix, "flow_verdicts": flow_verdicts}
