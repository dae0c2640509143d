# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A synthetic Kubernetes fleet for the benchmarks: N hosts with addresses and groups.

Three control planes (stacked etcd), the rest workers. Addresses are spread (every 3rd
address of 10.64.0.0/10) so that the sets cannot collapse into a few CIDRs: the planner
pays for every peer, as on a fleet whose nodes sit in many subnets.
"""

import ipaddress

CONTROL_PLANES = 3
FIRST = int(ipaddress.IPv4Address("10.64.0.10"))

# Calico in BGP mode with Typha: its rows admit every cluster node, the sets that grow with N.
FEATURES = ["calico_bgp", "calico_typha"]

# A realistic policy: node_ip scope, service mode, a user entry from a group, a blacklist CIDR.
POLICY = {
    "state": "block",
    "mode": "service",
    "scope": "node_ip",
    "management_cidrs": ["192.0.2.0/28"],
    "whitelist": [{"port": 9100, "from": ["kube_control_plane"], "comment": "node exporter, scraped from the control planes"}],
    "blacklist": [{"from": ["198.51.100.0/24"], "comment": "a quarantined range"}],
}


def host_name(index):
    return "cp%d" % index if index < CONTROL_PLANES else "w%d" % index


def address(index):
    return str(ipaddress.IPv4Address(FIRST + 3 * index))


def groups(size):
    names = [host_name(index) for index in range(size)]
    return {
        "all": names,
        "kube_control_plane": names[:CONTROL_PLANES],
        "kube_node": names[CONTROL_PLANES:],
        "k8s_cluster": names,
        "ungrouped": [],
    }


def hostvars(size):
    """What Ansible's hostvars hold for each host: no facts, no connection."""
    return dict((host_name(index), {"ansible_host": address(index)}) for index in range(size))


def plan_inputs(size):
    """Each node's planner input, as the whitelist role builds it (no facts gathered)."""
    return [{"node": {"name": host_name(index), "ssh_port": 22, "features": FEATURES}, "policy": POLICY}
            for index in range(size)]


def ansible_inventory(size):
    """The same fleet as an Ansible inventory (YAML inventory format, written as JSON)."""
    names = groups(size)
    features = {"microseg_features": FEATURES}
    features.update(("microseg_" + key, value) for key, value in POLICY.items())
    return {"all": {
        "hosts": hostvars(size),
        "vars": features,
        "children": {
            "kube_control_plane": {"hosts": dict((name, {}) for name in names["kube_control_plane"])},
            "kube_node": {"hosts": dict((name, {}) for name in names["kube_node"])},
        },
    }}
