# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""From Ansible host variables to the planner's inventory: each host's addresses and roles."""

from __future__ import annotations

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.addresses import looks_like_address
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.catalog import CLUSTER_WIDE_PORT_KEYS


def _listify(value):
    if value in (None, ""):
        return []
    return [value] if isinstance(value, str) else list(value)


def host_addresses(host_vars):
    """The addresses peers see a host come from, in order of trust:

    1. ``microseg_node_addresses`` (the user says so);
    2. the gathered default IPv4/IPv6 addresses (what the node routes from);
    3. ``ansible_host`` when it is an IP literal (not a name: names are not resolved here).
    """
    explicit = host_vars.get("microseg_node_addresses")
    if explicit not in (None, "", []):
        return [str(item) for item in _listify(explicit)]
    facts = host_vars.get("ansible_facts") or {}
    found = []
    for key in ("default_ipv4", "default_ipv6"):
        address = (facts.get(key) or {}).get("address")
        if address:
            found.append(str(address))
    if found:
        return found
    connection_host = host_vars.get("ansible_host")
    if isinstance(connection_host, str) and looks_like_address(connection_host) and "/" not in connection_host:
        return [connection_host]
    return []


def build_inventory(hostvars, groups, hosts=None):
    """{"hosts": {name: {"addresses": [...], ["roles": [...]]}}, "groups": {...}} for the planner.

    A host's roles: ``microseg_roles`` when the user sets it, else the roles of its
    ``microseg_profile`` (groups + detection, made by the facts role), else (no "roles" key)
    the planner takes them from the groups. Cluster-wide settings a host's profile holds (the
    NodePort range read on a control plane) go in "cluster_ports" for the other nodes.
    """
    names = list(hosts) if hosts is not None else list(groups.get("all", []))
    result = {}
    for name in names:
        host_vars = hostvars[name]
        entry = {"addresses": host_addresses(host_vars)}
        profile = host_vars.get("microseg_profile") or {}
        roles = host_vars.get("microseg_roles")
        if roles is None:
            roles = profile.get("roles")
        if roles is not None:
            entry["roles"] = _listify(roles)
        shared = dict((key, value) for key, value in (profile.get("ports") or {}).items() if key in CLUSTER_WIDE_PORT_KEYS)
        if shared:
            entry["cluster_ports"] = shared
            entry["cluster_port_origins"] = dict((key, (profile.get("port_origins") or {}).get(key, "profile"))
                                                 for key in shared)
        result[name] = entry
    return {"hosts": result, "groups": dict((name, list(members)) for name, members in groups.items())}
