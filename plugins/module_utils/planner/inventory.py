# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""From Ansible host variables to the planner's inventory: each host's addresses and roles."""

from __future__ import annotations

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.addresses import looks_like_address
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.catalog import CLUSTER_WIDE_PORT_KEYS
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.groups import check_group_map


def _listify(value):
    if value in (None, ""):
        return []
    return [value] if isinstance(value, str) else list(value)


def _ip_literal(value):
    return isinstance(value, str) and looks_like_address(value) and "/" not in value


def addresses_and_origin(host_vars):
    """(addresses, origin): the addresses peers see a host come from, the first found of

    1. ``microseg_node_addresses`` (the user says so);
    2. kubespray's ``ip`` and ``access_ip`` (the address the node binds cluster services to, and
       the one other nodes reach it at; both, when they differ);
    3. the gathered default IPv4/IPv6 addresses (what the node routes from);
    4. ``ansible_host`` when it is an IP literal (names are not resolved here), then the inventory
       name when it is one (k3s-ansible's sample inventory names hosts by address).
    """
    explicit = host_vars.get("microseg_node_addresses")
    if explicit not in (None, "", []):
        return [str(item) for item in _listify(explicit)], "microseg_node_addresses"
    installer = []
    for key in ("ip", "access_ip"):
        value = host_vars.get(key)
        if _ip_literal(value) and value not in installer:
            installer.append(value)
    if installer:
        return installer, " and ".join(key for key in ("ip", "access_ip") if host_vars.get(key) in installer)
    facts = host_vars.get("ansible_facts") or {}
    found = []
    for key in ("default_ipv4", "default_ipv6"):
        address = (facts.get(key) or {}).get("address")
        if address:
            found.append(str(address))
    if found:
        return found, "gathered facts"
    for key in ("ansible_host", "inventory_hostname"):
        if _ip_literal(host_vars.get(key)):
            return [host_vars[key]], key
    return [], "none"


def host_addresses(host_vars):
    """The addresses peers see a host come from (addresses_and_origin, without the origin)."""
    return addresses_and_origin(host_vars)[0]


def build_inventory(hostvars, groups, hosts=None, group_map=None):
    """{"hosts": {name: {"addresses": [...], ["roles": [...]]}}, "groups": {...}} for the planner.

    A host's roles: ``microseg_roles`` when the user sets it, else the roles of its
    ``microseg_profile`` (groups + detection, made by the facts role), else (no "roles" key)
    the planner takes them from the groups, with ``group_map`` (microseg_group_map). Cluster-wide settings a host's profile holds (the
    NodePort range read on a control plane) go in "cluster_ports" for the other nodes.
    """
    names = list(hosts) if hosts is not None else list(groups.get("all", []))
    result = {}
    for name in names:
        host_vars = hostvars[name]
        addresses, origin = addresses_and_origin(host_vars)
        entry = {"addresses": addresses, "address_origin": origin}
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
    return {"hosts": result, "groups": dict((name, list(members)) for name, members in groups.items()),
            "group_map": check_group_map(group_map)}
