# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which inventory groups make a host a cluster node: the layouts of the common installers
(INSTALLER_LAYOUTS) and the user's microseg_group_map."""

from __future__ import annotations

import re
from collections import namedtuple

from ansible_collections.microseg.cluster_firewall.plugins.module_utils import catalog
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.errors import PlanError

# The inventory groups of the common installers, and the cluster role each group means. A layout
# with `within` counts only for hosts also in that group: k3s-ansible's `server` and `agent` are
# names other inventories use for other things. microseg_group_map adds groups, or gives one of
# these another meaning. Parent groups (k8s_cluster, k3s_cluster, rke2_cluster) mean no role.
# `features`: what a group's hosts run besides their role's features (RKE2 servers: the supervisor).
InstallerLayout = namedtuple("InstallerLayout", "installer within groups source features")
InstallerLayout.__new__.__defaults__ = ({},)
INSTALLER_LAYOUTS = (
    InstallerLayout("kubespray (and this collection)", None,
                    {"kube_control_plane": "kube_control_plane", "kube_node": "kube_node", "etcd": "etcd",
                     # Calico's route reflectors: kubespray joins them as Kubernetes nodes (k8s_cluster)
                     "calico_rr": "kube_node"},
                    "https://github.com/kubernetes-sigs/kubespray inventory/sample/inventory.ini, docs/CNI/calico.md"),
    InstallerLayout("kubespray, older releases", None,
                    {"kube-master": "kube_control_plane", "kube_master": "kube_control_plane", "kube-node": "kube_node",
                     "calico-rr": "kube_node"},
                    "https://github.com/kubernetes-sigs/kubespray (group names before kube_control_plane)"),
    InstallerLayout("k3s-ansible", "k3s_cluster", {"server": "kube_control_plane", "agent": "kube_node"},
                    "https://github.com/k3s-io/k3s-ansible inventory-sample.yml"),
    InstallerLayout("techno-tim/k3s-ansible", "k3s_cluster", {"master": "kube_control_plane", "node": "kube_node"},
                    "https://github.com/techno-tim/k3s-ansible inventory/sample/hosts.ini"),
    InstallerLayout("rke2-ansible", None, {"rke2_servers": "kube_control_plane", "rke2_agents": "kube_node"},
                    "https://github.com/rancherfederal/rke2-ansible docs/basic_sample_inventory/hosts.yml",
                    {"rke2_servers": ("rke2_supervisor",)}),
    InstallerLayout("this collection (Docker Swarm)", None,
                    {"swarm_managers": "swarm_manager", "swarm_workers": "swarm_worker"}, "this collection"),
)


def check_group_map(group_map):
    """microseg_group_map, {group: role or [roles]}, validated -> {group: [roles]}. An empty list
    takes a layout's meaning away from a group (a `server` group that is not k3s)."""
    if group_map in (None, ""):
        return {}
    if not isinstance(group_map, dict):
        raise PlanError("microseg_group_map: %r must be a dict of inventory group -> cluster role(s)" % (group_map,))
    checked = {}
    for group, roles in group_map.items():
        if not isinstance(group, str) or not group:
            raise PlanError("microseg_group_map: group %r must be a group name" % (group,))
        roles = [] if roles in (None, "") else [roles] if isinstance(roles, str) else roles
        if not isinstance(roles, (list, tuple)):
            raise PlanError("microseg_group_map[%s]: %r must be a role or a list of roles" % (group, roles))
        for role in roles:
            if role not in catalog.ROLES:
                raise PlanError("microseg_group_map[%s]: %r is not a cluster role; allowed: %s"
                                % (group, role, ", ".join(catalog.ROLES)))
        checked[group] = list(roles)
    return checked


# microseg_cluster: a name an operator writes (a team, a tag), shown in the plans' set reasons
CLUSTER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def check_cluster_name(value, host):
    """A host's microseg_cluster, validated -> the name, or None (unset: the one cluster of every
    host that sets none). Hosts of different names are different clusters: none admits the other's
    nodes, networks or cluster-wide settings."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)                      # YAML reads `microseg_cluster: 2024` as a number
    if not isinstance(value, str) or not CLUSTER_NAME.match(value):
        raise PlanError("microseg_cluster of host %s: %r is not a cluster name; allowed: a string of letters, digits, "
                        "'.', '_' and '-' starting with a letter or digit (for example k8s-prod), or unset: "
                        "every host that sets none is one cluster" % (host, value))
    return value


def _layout_meanings(names, group_map, field):
    """What the installer layouts give (field: "groups" for roles, "features") to a host in these
    groups, leaving out the groups that microseg_group_map gives another meaning."""
    found = set()
    for layout in INSTALLER_LAYOUTS:
        if layout.within and layout.within not in names:
            continue
        for group, meaning in getattr(layout, field).items():
            if group in names and group not in group_map:
                found.update([meaning] if isinstance(meaning, str) else meaning)
    return found


def roles_of(group_names, group_map=None):
    """The cluster roles of a host that is in these groups (group_names, parents included)."""
    names = set(group_names or ())
    group_map = check_group_map(group_map)
    roles = _layout_meanings(names, group_map, "groups")
    for group, mapped in group_map.items():
        if group in names:
            roles.update(mapped)
    return roles


def features_of(group_names, group_map=None):
    """The features a host's installer groups say it runs besides its roles' (RKE2 servers: the
    supervisor), unless microseg_group_map gives the group another meaning."""
    return _layout_meanings(set(group_names or ()), check_group_map(group_map), "features")


def groups_of_hosts(groups):
    """{host: [group, ...]} from Ansible's `groups` ({group: [host, ...]})."""
    found = {}
    for group, members in groups.items():
        for host in members or []:
            found.setdefault(host, []).append(group)
    return found


def role_groups_hint(group_map=None):
    """The group names that give a role, for messages that say how to give a host one."""
    names = [group for layout in INSTALLER_LAYOUTS if not layout.within for group in layout.groups]
    names += ["%s under %s" % ("/".join(layout.groups), layout.within) for layout in INSTALLER_LAYOUTS
              if layout.within]
    return ", ".join(names + sorted(group for group, roles in (group_map or {}).items() if roles))
