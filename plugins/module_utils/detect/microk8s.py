# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""MicroK8s (a snap): each service's flags in a file of $SNAP_DATA/args, one flag per line (the
API server's --secure-port, the kubelet's --port, kube-proxy's --cluster-cidr... as any
component's flags); the cluster agent (joins) on --bind; dqlite, its datastore, at the Address of
backend/info.yaml; a node joined as a worker has the clustered lock (and runs no control plane).
Pure: takes text, returns data; the KubernetesFacts it is given collects the result."""

from __future__ import annotations

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect.kube_flags import (
    COMPONENT_NETWORKS,
    COMPONENT_PORTS,
    parse_args_file,
)
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect.yaml_text import parse, scalar
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.ports import port_of_listen_address

MICROK8S_DATA = "/var/snap/microk8s/current"
# the components whose args file (named after them) holds their flags, and the cluster agent's
MICROK8S_ARGS = ("kube-apiserver", "kubelet", "kube-proxy", "kube-scheduler", "kube-controller-manager", "etcd",
                 "cluster-agent")
MICROK8S_WORKER_LOCK = "var/lock/clustered.lock"
MICROK8S_DQLITE_INFO = "var/kubernetes/backend/info.yaml"
_CONTROL_PLANE = ("kube-apiserver", "kube-scheduler", "kube-controller-manager", "etcd")


def observe(facts, args, worker, dqlite_info=None):
    """args {service file name: text} from $SNAP_DATA/args, worker (the clustered lock is there),
    dqlite_info (backend/info.yaml text, the datastore's address)."""
    if not args:
        return
    facts.distribution = "microk8s"
    facts.add_feature("microk8s")
    where_dir = MICROK8S_DATA + "/args/"
    for component in MICROK8S_ARGS[:-1]:
        if component not in args:
            continue
        if worker and component in _CONTROL_PLANE:
            continue        # a worker keeps the files but runs only the kubelet and kube-proxy
        if component == "etcd" and dqlite_info is not None:
            continue        # dqlite is the datastore; the etcd file is left from older releases
        flags, where = parse_args_file(args[component]), where_dir + component
        facts.components.setdefault(component, where)
        facts.set_ports(COMPONENT_PORTS.get(component, {}), flags, where)
        facts.set_networks(COMPONENT_NETWORKS.get(component, {}), flags, where)
    agent_port = port_of_listen_address(parse_args_file(args.get("cluster-agent", "")).get("--bind"))
    if agent_port:
        facts.ports["microk8s_cluster_agent"] = agent_port
        facts.origins["microk8s_cluster_agent"] = where_dir + "cluster-agent --bind"
    if dqlite_info is not None and not worker:
        _dqlite(facts, dqlite_info)


def _dqlite(facts, dqlite_info):
    """dqlite's backend/info.yaml: its Address (the port its peers reach)."""
    facts.add_feature("microk8s_dqlite")
    facts.absent["etcd"] = "%s/%s: MicroK8s keeps its state in dqlite" % (MICROK8S_DATA, MICROK8S_DQLITE_INFO)
    info = parse(dqlite_info)
    info = dict((str(key).lower(), value) for key, value in info.items()) if isinstance(info, dict) else {}
    port = port_of_listen_address(scalar(info.get("address")))
    if port:
        facts.ports["microk8s_dqlite"] = port
        facts.origins["microk8s_dqlite"] = "%s/%s Address" % (MICROK8S_DATA, MICROK8S_DQLITE_INFO)
