# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A node's profile for the planner: its cluster roles, features, real ports and pod network,
from the inventory groups, what the fact modules detected, and the user's variables.

Precedence: for each cluster (Kubernetes, swarm) the inventory groups win when the host is in
any of that cluster's groups, and detection fills in hosts that are in none; a disagreement is
reported, not guessed. Detected ports replace catalog defaults; user variables replace both.
"""

from __future__ import annotations

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends import registry
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.groups import (
    features_of,
    role_groups_hint,
    roles_of,
)
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.inputs import NETWORKS
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.installers import installer_cni, installer_ports
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.inventory import installer_settings

# Features an installer's variables can turn on (installer_settings): detection decides when it ran.
INSTALLER_FEATURES = ("kube_proxy_ipvs", "nodelocal_dns")

DOMAINS = {
    "kubernetes": ("kube_control_plane", "kube_node", "etcd"),
    "swarm": ("swarm_manager", "swarm_worker"),
}


def _derived(facts):
    return (facts or {}).get("derived") or {}


def _text_list(value):
    """A user's network list as the argument_specs take it (type list): a list, or one string of
    comma-separated items. Never a string's characters: "10.244.0.0/33" must reach the planner's
    check whole, so that its error names the value the user wrote."""
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return list(value)


def build_profile(name, group_names, docker=None, cni=None, features=None, ports=None, pod_cidrs=None,
                  firewall=None, group_map=None, service_cidrs=None, nodelocal_dns=None, installer=None):
    """-> {"roles", "features", "absent_features", "ports", "port_origins", "pod_cidrs", "service_cidrs", "nodelocal_dns",
    "cluster_ips", "network_origins", "backend", "backend_reason", "blockers" ({backend: [what on the node
    still drops the plan's flows]}), "conflicts" (the groups and
    detection disagree), "warnings" (a cluster node with no cluster role, files detection could not
    read), "notes", "unread" (the node's YAML files not read: PyYAML missing), "installer_cni"
    (offline: installers.installer_cni)}.
    group_map: microseg_group_map (groups.roles_of); installer: the host's installer variables
    (inventory.INSTALLER_VARIABLES, read by inventory.installer_settings)."""
    docker_found, cni_found = _derived(docker), _derived(cni)
    roles, conflicts = _roles(name, group_names, group_map, docker, cni, docker_found, cni_found)
    merged_ports, origins = _ports(ports, docker_found, cni_found)
    found_features = set(docker_found.get("features") or []) | set(cni_found.get("features") or [])
    networks, network_origins = _networks(cni_found, {"pod_cidrs": pod_cidrs, "service_cidrs": service_cidrs,
                                                      "nodelocal_dns": nodelocal_dns})
    notes = list(cni_found.get("notes") or []) + list(docker_found.get("notes") or [])
    detected = detection_ran("kubernetes", docker, cni)
    # offline, the CNI the installer's variables give (inventory.build_inventory shares a server's
    # with the agents, whose own variables may give only the distribution's default)
    offline_cni = None if detected else installer_cni(installer, group_names)
    notes += _installer_findings(name, group_names, installer, (detected, offline_cni), found_features, merged_ports,
                                 origins, networks, network_origins)
    backend, reason = choose_backend(firewall, ((cni or {}).get("kube_proxy") or {}).get("mode"),
                                     docker_found.get("firewall_backend"))
    # what would still drop the plan's flows on the node, for each backend the user may choose
    blockers = registry.blockers(firewall) if firewall else {}
    notes += registry.notes(name, firewall)        # what the node's own firewall means, per backend
    warnings = _no_role_warnings(name, roles, group_names, group_map, docker, cni)
    absent = _absent_features(name, cni_found, features, notes)
    # YAML files detection could not parse for want of PyYAML on the node (the facts role installs
    # it unless microseg_install_packages is false): what they set is not guessed, and the plan says so.
    unread = [str(path) for path in ((cni or {}).get("yaml_unread") or [])]
    if unread:
        warnings.append("%s: detection did not read %s (PyYAML is not installed for the node's Python): the ports "
                        "and networks they set are not known, the plan uses the catalog's defaults for them"
                        % (name, ", ".join(unread)))
    return {
        "roles": sorted(roles),
        "features": sorted(found_features | set(features or []) | features_of(group_names, group_map)),
        "absent_features": sorted(absent),
        "unread": unread,
        "ports": merged_ports,
        "port_origins": origins,
        "pod_cidrs": networks["pod_cidrs"],
        "service_cidrs": networks["service_cidrs"],
        "nodelocal_dns": networks["nodelocal_dns"],
        "cluster_ips": list(cni_found.get("cluster_ips") or []),
        "network_origins": network_origins,
        "backend": backend,
        "backend_reason": reason,
        "blockers": blockers,
        "conflicts": conflicts,
        "warnings": warnings,
        "notes": notes,
        "installer_cni": offline_cni,
    }


def _absent_features(name, cni_found, features, notes):
    """What the node's roles bring but detection found it does not run (a k0s controller without a
    kubelet), unless the user asks for it in microseg_features: {feature: why}; each said in notes."""
    absent = dict((feature, why) for feature, why in (cni_found.get("absent_features") or {}).items()
                  if feature not in set(features or []))
    for feature, why in sorted(absent.items()):
        notes.append("%s: %s is left out of the plan (%s); add it to microseg_features to plan it" % (name, feature, why))
    return absent


def _roles(name, group_names, group_map, docker, cni, docker_found, cni_found):
    """The node's roles: per domain (Kubernetes, swarm) the inventory groups' when they name any,
    else what detection found; -> (roles, conflicts where both spoke and disagree)."""
    from_groups = roles_of(group_names, group_map)
    detected = set(docker_found.get("roles") or []) | set(cni_found.get("roles") or [])
    roles, conflicts = set(), []
    for domain, domain_roles in sorted(DOMAINS.items()):
        grouped = from_groups & set(domain_roles)
        seen = detected & set(domain_roles)
        if not grouped:
            roles |= seen
            continue
        roles |= grouped
        # A control plane also runs a kubelet; stacked etcd is the planner's default: not conflicts.
        missing = grouped - seen - ({"etcd"} if domain == "kubernetes" else set())
        extra = seen - grouped - ({"etcd"} if "kube_control_plane" in grouped else set())
        if (missing or extra) and detection_ran(domain, docker, cni):
            conflicts.append("%s: %s roles from the inventory groups are %s, detection found %s; the groups win"
                             % (name, domain, ", ".join(sorted(grouped)), ", ".join(sorted(seen)) or "none"))
    return roles, conflicts


def _ports(ports, docker_found, cni_found):
    """Detected ports, then microseg_ports over them; -> (ports, where each came from)."""
    merged_ports, origins = {}, {}
    for found in (docker_found, cni_found):
        merged_ports.update(found.get("ports") or {})
        origins.update(found.get("port_origins") or {})
    for key, value in (ports or {}).items():
        merged_ports[key] = value
        origins[key] = "microseg_ports"
    return merged_ports, origins


def _networks(cni_found, users):
    """The pod and Service networks and NodeLocal DNS addresses: the user's variable when set,
    else what detection found; -> (networks, where each came from)."""
    networks, network_origins = {}, dict(cni_found.get("network_origins") or {})
    for network in NETWORKS:
        user = users[network.key]
        networks[network.key] = _text_list(user) if user else list(cni_found.get(network.key) or [])
        if user:
            network_origins[network.key] = network.variable
    return networks, network_origins


def _installer_findings(name, group_names, installer_vars, detection, found_features, merged_ports, origins,
                        networks, network_origins):
    """What the installer's inventory variables add (offline: Kubernetes not detected) or where
    they disagree with the node (the node wins). detection: (Kubernetes detected, the CNI the
    installer's variables give offline or None). Updates the features, ports and networks given;
    -> notes."""
    notes = []
    detected, offline_cni = detection
    installer = installer_settings(installer_vars)
    if installer.get("features") or installer.get("nodelocal_dns"):
        if detected:
            differ = sorted(set(installer.get("features") or []) ^ (found_features & set(INSTALLER_FEATURES)))
            if differ:
                notes.append("%s: the installer's variables (%s) and the node differ on %s; the node wins"
                             % (name, installer.get("origin"), ", ".join(differ)))
        else:
            found_features |= set(installer.get("features") or [])
            if not networks["nodelocal_dns"] and installer.get("nodelocal_dns"):
                networks["nodelocal_dns"] = list(installer["nodelocal_dns"])
                network_origins["nodelocal_dns"] = installer.get("origin")
    if not detected:
        notes += ["%s: %s" % (name, note) for note in installer.get("notes") or []]
        notes += _installer_cni_and_ports(name, group_names, installer_vars, offline_cni, found_features, merged_ports,
                                          origins)
    return notes


def _installer_cni_and_ports(name, group_names, installer_vars, cni, found_features, merged_ports, origins):
    """Offline (Kubernetes not detected): the CNI (cni: installers.installer_cni's answer), its mode
    and the ports from the installer's variables; microseg_ports wins. Updates the features and
    ports given; -> notes."""
    notes = []
    ports, port_origins = installer_ports(installer_vars, group_names)
    if cni and cni["features"]:
        found_features |= set(cni["features"])
        ports.update(cni["ports"])
        port_origins.update(dict((key, cni["origin"]) for key in cni["ports"]))
        notes.append("%s: CNI %s (%s) from %s" % (name, cni["cni"], ", ".join(cni["features"]), cni["origin"]))
    elif cni and cni["cni"]:
        notes.append("%s: CNI %s from %s: its mode and ports are unknown to the plan (no rows for it); add its "
                     "features to microseg_features or its ports to microseg_whitelist" % (name, cni["cni"], cni["origin"]))
    for key, value in sorted(ports.items()):
        if key not in merged_ports:
            merged_ports[key], origins[key] = value, port_origins[key]
    return notes


def _no_role_warnings(name, roles, group_names, group_map, docker, cni):
    """A node that runs Kubernetes or Docker but has no cluster role: say how to give it one."""
    if roles:
        return []
    found = (("Kubernetes", (cni or {}).get("kubernetes")), ("Docker", (docker or {}).get("reachable")))
    runs = [what for what, there in found if there]
    if not runs:
        return []
    groups = ", ".join(sorted(group_names or [])) or "none"
    return ["%s runs %s but has no cluster role (its groups: %s): put it in one of %s, or map one "
            "of its groups with microseg_group_map" % (name, " and ".join(runs), groups, role_groups_hint(group_map))]


def detection_ran(domain, docker, cni):
    """True when that domain's fact module answered, so 'found nothing' is a finding, not a gap."""
    if domain == "swarm":
        return bool((docker or {}).get("reachable"))
    return bool((cni or {}).get("kubernetes"))


def choose_backend(firewall, kube_proxy_mode=None, docker_backend=None):
    """(backend, reason) for microseg_backend: auto, from firewall_facts (and kube-proxy's mode,
    Docker's firewall backend): the backends' own choices (backends/registry.py, choose)."""
    return registry.choose(firewall, kube_proxy_mode, docker_backend)
