# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter cluster_inventory: thin glue over module_utils.inventory (docs in cluster_inventory.yml)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.errors import PlanError

# module_utils are imported inside the filters (Ansible loads every filter file of the collection
# in each worker: docs/architecture.md, "The steady state")


def cluster_inventory(hostvars, groups, hosts=None, group_map=None):
    from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.inventory import build_inventory

    if not hasattr(groups, "get"):
        raise AnsibleFilterError("cluster_inventory: the argument must be the 'groups' variable, got %r"
                                 % type(groups).__name__)
    try:
        return build_inventory(hostvars, groups, hosts, group_map)
    except KeyError as error:
        raise AnsibleFilterError("cluster_inventory: host %s is not in hostvars" % error)
    except PlanError as error:
        raise AnsibleFilterError("cluster_inventory: %s" % error)


class FilterModule(object):
    def filters(self):
        return {"cluster_inventory": cluster_inventory}
