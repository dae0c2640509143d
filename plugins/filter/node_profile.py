# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter node_profile: thin glue over module_utils.profile.build_profile (docs in node_profile.yml)."""

from __future__ import annotations

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.errors import PlanError

# module_utils are imported inside the filters (Ansible loads every filter file of the collection
# in each worker: docs/architecture.md, "The steady state")


def node_profile(name, group_names, docker=None, cni=None, features=None, ports=None, pod_cidrs=None, firewall=None,
                 group_map=None, service_cidrs=None, nodelocal_dns=None, host_vars=None):
    from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.inventory import installer_variables
    from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.profile import build_profile

    for label, value in (("docker", docker), ("cni", cni), ("ports", ports), ("firewall", firewall)):
        if value is not None and not isinstance(value, dict):
            raise AnsibleFilterError("node_profile: %s must be a dict, got %r" % (label, type(value).__name__))
    if host_vars is not None and not isinstance(host_vars, Mapping):
        raise AnsibleFilterError("node_profile: host_vars must be the host's variables, got %r" % type(host_vars).__name__)
    installer = installer_variables(host_vars) if host_vars is not None else None
    try:
        return build_profile(name, group_names, docker, cni, features, ports, pod_cidrs, firewall, group_map,
                             service_cidrs, nodelocal_dns, installer)
    except PlanError as error:
        raise AnsibleFilterError("node_profile: %s" % error)


class FilterModule(object):
    def filters(self):
        return {"node_profile": node_profile}
