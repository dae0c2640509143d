# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What Kubernetes and its CNI run on a node, read from its files, processes and devices
(cni_facts, node_facts)."""

from __future__ import annotations

import os

from ansible_collections.microseg.cluster_firewall.plugins.module_utils import netfilter
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect import cni as detect_cni
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect import cnis
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect import cni_derive
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect import firewall as detect_firewall
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect import yaml_text
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect import k0s as detect_k0s
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect import supervisor as detect_supervisor
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect.k0s import K0S_CONFIG
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect.kube_flags import argv_words, flags_from_args
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect.kubernetes import (
    DEFAULT_KUBELET_CONFIG,
    KubernetesFacts,
    supervisor_of,
)
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect.microk8s import (
    MICROK8S_ARGS,
    MICROK8S_DATA,
    MICROK8S_DQLITE_INFO,
    MICROK8S_WORKER_LOCK,
)
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect.supervisor import unit_of_cgroup
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.node.node_reader import NodeReader


ARGUMENT_SPEC = dict(
    cni_conf_dir=dict(type="path", default="/etc/cni/net.d"),
    manifest_dirs=dict(type="list", elements="path",
                       default=["/etc/kubernetes/manifests", "/var/lib/rancher/rke2/agent/pod-manifests"]),
    kubelet_config=dict(type="path"),
    flannel_subnet_env=dict(type="path", default="/run/flannel/subnet.env"),
    flannel_net_conf=dict(type="path", default=cnis.flannel.NET_CONF),
)


def read_yaml(reader, unread, path, what, add, required=False):
    """Hand a YAML (or JSON) file's text to add(path, text) of detect; a file it cannot
    parse is a problem naming the file and why (never its content: config files hold tokens),
    and without PyYAML on the node the file goes in `unread` (yaml_unread in the facts: the facts
    role installs PyYAML and reads again) instead of being guessed at."""
    text = reader.read_text(path, required=required)
    if text is None:
        return
    try:
        add(path, text)
    except yaml_text.Unreadable as error:
        if error.missing:
            if path not in unread:
                unread.append(path)
        else:
            reader.problem("%s: %s (%s); what it sets is not read" % (path, what, error))
    except ValueError as error:
        reader.problem("%s: %s (%s); what it sets is not read" % (path, what, error))


def supervisor_config_files(reader, config):
    """A k3s/RKE2 config file, then its drop-ins (CONFIG.d/*.yaml, *.yml next to it: the suffix in
    any case, as k3s matches it) in name order, as k3s's configfilearg reads them."""
    drop_in = config + ".d"
    return [config] + [os.path.join(drop_in, name) for name in sorted(reader.list_dir(drop_in))
                       if name.lower().endswith((".yaml", ".yml"))]


def read_kubernetes(reader, params, processes, unread=None):
    """unread: the list the YAML files not read for want of PyYAML are added to."""
    unread = [] if unread is None else unread
    kubernetes = KubernetesFacts()
    envs, manifest_dirs = read_supervisors(reader, kubernetes, processes, unread)
    for directory in list(dict.fromkeys(list(params["manifest_dirs"]) + manifest_dirs)):
        for name in reader.list_dir(directory):
            if name.endswith((".yaml", ".yml", ".json", ".manifest")):
                read_yaml(reader, unread, os.path.join(directory, name), "not a valid manifest",
                          kubernetes.add_manifest)
    read_microk8s(reader, kubernetes, unread)
    k0s_config = next((detect_k0s.config_of(argv_words(argv)) for _pid, argv in processes
                       if detect_k0s.config_of(argv_words(argv))), None)
    read_yaml(reader, unread, k0s_config or K0S_CONFIG, "not a valid k0s config", kubernetes.add_k0s_config,
              required=bool(k0s_config))
    for pid, argv in processes:
        kubernetes.add_process(pid, argv, envs.get(pid))
    config_path = params["kubelet_config"] or kubernetes.kubelet_config or DEFAULT_KUBELET_CONFIG
    read_yaml(reader, unread, config_path, "not a valid kubelet config", kubernetes.add_kubelet_config,
              required=bool(params["kubelet_config"]))
    return kubernetes.result()


def read_supervisors(reader, kubernetes, processes, unread):
    """Each k3s/RKE2 process's environment (read_supervisor_environment) and the config files it
    reads: RKE2_CONFIG_FILE/K3S_CONFIG_FILE, else --config/-c, else the default, and its drop-ins.
    -> ({pid: environment layers} for add_process, [RKE2's static pod directory under its --data-dir])."""
    envs, read, manifest_dirs = {}, set(), []
    for pid, argv in processes:
        found = supervisor_of(argv)
        if found is None:
            continue
        argv = argv_words(argv)
        envs[pid] = read_supervisor_environment(reader, pid, found, argv)
        flags = detect_supervisor.command_flags(argv)
        path, said = detect_supervisor.config_path(found[0], flags, envs[pid])
        if found[0] in read:
            continue
        read.add(found[0])
        if "://" in path:
            reader.problem("process %s (%s): its config file is a URL (%s, from %s), not read on the node: what it "
                           "sets is not known and is planned from the defaults" % (pid, found[0], path.split("://")[0], said))
            continue
        for name in supervisor_config_files(reader, path):
            read_yaml(reader, unread, name, "not a valid %s config file" % found[0],
                      lambda name, text, distribution=found[0]: kubernetes.add_supervisor_config(distribution, name, text),
                      required=bool(said) and name == path)
    for pid, argv in processes:
        found = supervisor_of(argv)
        directory = found and detect_supervisor.manifest_dir(kubernetes, found[0], detect_supervisor.command_flags(
            argv_words(argv)), envs.get(pid))
        if directory and directory not in manifest_dirs:
            manifest_dirs.append(directory)
    return envs, manifest_dirs


def read_supervisor_environment(reader, pid, supervisor, argv=None):
    """A k3s/RKE2 process's environment, as layers [(variables, where read)], later ones winning:
    the environment files its unit reads (the unit from /proc/PID/cgroup; /etc/default/NAME,
    /etc/sysconfig/NAME, then the installer's NAME.env: detect.supervisor.environment_files), then
    the process's own environment. Values of secrets and of variables that stand for no flag never
    leave detect.supervisor (environment_flags)."""
    layers = []
    unit = unit_of_cgroup(reader.read_text(os.path.join(reader.proc, str(pid), "cgroup")))
    binary = (argv or [None])[0]
    for alternatives in detect_supervisor.environment_files(supervisor[0], supervisor[1], unit, binary):
        for path in alternatives:
            text = reader.read_text(path)
            if text is not None:
                layers.append((detect_cni.parse_env_file(text), path))
                break
    raw = reader.environ(pid)
    if raw is not None:
        layers.append((detect_cni.parse_environ(raw), "process %s (%s) environment" % (pid, supervisor[0])))
    return layers


def read_microk8s(reader, kubernetes, unread):
    """MicroK8s's args files, its worker lock and dqlite's address file, when the snap is there."""
    directory = MICROK8S_DATA + "/args"
    args = {}
    for name in reader.list_dir(directory):
        if name in MICROK8S_ARGS:
            text = reader.read_text(os.path.join(directory, name))
            if text is not None:
                args[name] = text
    if not args:
        return
    worker = os.path.exists(os.path.join(MICROK8S_DATA, MICROK8S_WORKER_LOCK))
    info = os.path.join(MICROK8S_DATA, MICROK8S_DQLITE_INFO)
    seen = []
    read_yaml(reader, unread, info, "not a valid dqlite info file",
              lambda _path, text: seen.append(text) or kubernetes.add_microk8s(args, worker, text))
    if not seen:                           # no dqlite (legacy etcd), or its file unreadable
        kubernetes.add_microk8s(args, worker)


def _read_config(reader, path):
    """A CNI config file -> {"name", "plugins"} and its text, or (None, None) with a problem said."""
    text = reader.read_text(path)
    if text is None:
        return None, None
    try:
        return detect_cni.parse_cni_config(text), text
    except ValueError as error:
        reader.problem("%s: malformed CNI config (%s)" % (path, error))
        return None, None


def read_cni_config(reader, directory, facts):
    """The config the container runtime uses (the first in sort order); when it is Multus's, the
    CNI it hands the pod's network to (its `delegates` or `clusterNetwork`) decides the kind: the
    plug-in of detect.cnis.CNIS that names its first plugin type (facts: the plug-ins' read
    before it)."""
    result = {"config_file": None, "name": None, "plugins": [], "kind": None}
    names = reader.list_dir(directory)
    chosen = detect_cni.choose_cni_config(names)
    if chosen is None:
        return result
    path = os.path.join(directory, chosen)
    result["config_file"] = path
    config, text = _read_config(reader, path)
    if config is None:
        return result
    kind_name = chosen
    if config["plugins"][0] in detect_cni.MULTUS_TYPES:
        result["multus"] = {"config_file": path, "delegate_file": None, "source": None}
        try:
            target = detect_cni.multus_delegate(text, names, chosen)
        except ValueError as error:
            reader.problem("%s: malformed Multus delegate (%s)" % (path, error))
            return result
        result["multus"]["source"] = target["why"]
        if "file" in target:
            delegate_path = os.path.join(directory, target["file"])
            result["multus"]["delegate_file"] = delegate_path
            config, _text = _read_config(reader, delegate_path)
            kind_name = target["file"]
        elif "network" in target:
            config = _network_named(reader, directory, names, chosen, target["network"], result["multus"])
            kind_name = (result["multus"]["delegate_file"] or "").rsplit("/", 1)[-1]
        else:
            config = target["delegate"]
            kind_name = config.get("name") or ""
        if config is None:
            reader.problem("%s: the CNI Multus hands the pod network to is unknown (%s); planned as another "
                           "CNI: set microseg_features for its tunnel" % (path, target["why"]))
            result["kind"] = "other"
            return result
    result.update(name=config["name"], plugins=config["plugins"],
                  kind=cnis.kind_of(kind_name, config["plugins"][0], facts))
    return result


def _network_named(reader, directory, names, multus_name, network, multus):
    """Multus's clusterNetwork by name: the config file of the directory with that `name`."""
    if network is None:
        return None
    for name in sorted(names):
        if name == multus_name or not name.endswith(detect_cni.CNI_EXTENSIONS):
            continue
        config, _text = _read_config(reader, os.path.join(directory, name))
        if config is not None and config["name"] == network:
            multus["delegate_file"] = os.path.join(directory, name)
            return config
    return None


def read_kube_proxy_mode(module, reader, processes, links):
    """(mode, where it was seen) of kube-proxy: its --proxy-mode flag, else what its rules and
    devices show (kube-ipvs0, the nft table, the KUBE-SERVICES chain)."""
    nft_tables = []
    if module.get_bin_path("nft"):
        text = reader.run("nft", ["list", "tables"], "nft tables")
        nft_tables = detect_firewall.parse_nft_tables(text or "")
    nat_chains = []
    if module.get_bin_path("iptables-save"):
        text = reader.run("iptables-save", ["-t", "nat"], "iptables nat table")
        nat_chains = netfilter.parse_iptables_save(text or "").get("nat", {}).get("chains", [])
    flag_mode = None
    for _pid, argv in processes:
        if os.path.basename(argv[0]) == "kube-proxy":
            flag_mode = flags_from_args(argv[1:]).get("--proxy-mode") or None
    return detect_firewall.kube_proxy_mode(links, nft_tables, nat_chains, flag_mode)


def read_cnis(context, facts=None):
    """Each plug-in's facts by its NAME, in the order of detect.cnis.CNIS: first (facts None) those
    READ_BEFORE_CONFIG (the CNI config's kind needs them), then (facts: those) the others."""
    if facts is None:
        return dict((cni.NAME, cni.read(context)) for cni in cnis.CNIS if cni.READ_BEFORE_CONFIG)
    facts = dict(facts)
    for cni in cnis.CNIS:
        if not cni.READ_BEFORE_CONFIG:
            facts[cni.NAME] = cni.read(context)
    return facts


def gather(module, outputs=None):
    """outputs: command outputs shared with the other gatherers of this module run (NodeReader).
    The CNIs are read and derived by their plug-ins, in the order of detect.cnis.CNIS."""
    params = module.params
    reader = NodeReader(module, outputs=outputs)
    processes = reader.processes()
    unread = []              # YAML files not read for want of PyYAML (the facts role installs it)
    kubernetes = read_kubernetes(reader, params, processes, unread)

    links_text = reader.run("ip", ["-details", "-json", "address", "show"], "network devices and their addresses")
    try:
        links = detect_cni.parse_links(links_text) if links_text else []
    except ValueError as error:
        reader.problem("ip -details -json address show: unreadable output (%s)" % error)
        links = []

    context = cnis.Context(reader, params, processes, links, kubernetes, unread)
    facts = read_cnis(context)
    cni = read_cni_config(reader, params["cni_conf_dir"], facts)
    rke2_kind, rke2_notes = detect_supervisor.rke2_cni_notes(cni, kubernetes["supervisor_cni"])
    cni["kind"] = rke2_kind or cni["kind"]
    facts = read_cnis(context, facts)

    mode, mode_source = read_kube_proxy_mode(module, reader, processes, links)

    derived = cni_derive.derive(cni, facts)
    derived["roles"] = kubernetes["roles"]
    derived["features"] = sorted(set(derived["features"]) | set(kubernetes["features"]))
    derived["absent_features"] = dict(kubernetes["absent_features"])
    derived["notes"].extend(kubernetes["notes"] + rke2_notes)
    ports = dict(kubernetes["ports"])
    ports.update(derived["ports"])
    origins = dict(kubernetes["port_origins"])
    origins.update(derived["port_origins"])
    derived.update(ports=ports, port_origins=origins)
    services = detect_cni.service_facts(links, mode)
    add_networks(derived, kubernetes, services)
    if unread:
        reader.problem("%s; what they set (ports, networks, the CNI's options) is not known and the plan "
                       "does not guess it: %s" % (yaml_text.MISSING, ", ".join(unread)))
    result = {"kubernetes": kubernetes, "cni": cni,
              "kube_proxy": {"mode": mode, "source": mode_source}, "services": services, "derived": derived,
              "yaml_unread": unread, "problems": reader.problems}
    result.update((name, found) for name, found in facts.items() if found is not None)
    return result


def add_networks(derived, kubernetes, services):
    """The pod and Service networks and NodeLocal DNSCache's addresses, with their origins, into
    the planner's part: the components' flags first (--cluster-cidr, --service-cluster-ip-range),
    then what the CNI shows (pod CIDRs). The ClusterIPs on kube-ipvs0 go in `cluster_ips`: the
    planner falls back on them when no host shows the Service CIDR."""
    origins = {}
    pod_cidrs = list(kubernetes["networks"].get("pod_cidrs") or [])
    if pod_cidrs:
        origins["pod_cidrs"] = kubernetes["network_origins"]["pod_cidrs"]
    cni_origin = derived.pop("pod_cidr_origin", None) or "the CNI's configuration"
    for cidr in derived["pod_cidrs"]:
        if cidr not in pod_cidrs:
            pod_cidrs.append(cidr)
            origins.setdefault("pod_cidrs", cni_origin)
    service_cidrs = list(kubernetes["networks"].get("service_cidrs") or [])
    if service_cidrs:
        origins["service_cidrs"] = kubernetes["network_origins"]["service_cidrs"]
    if services["nodelocal_dns"]:
        origins["nodelocal_dns"] = "device %s" % detect_cni.NODELOCAL_DNS_DEVICE
    derived["features"] = sorted(set(derived["features"]) | set(services["features"]))
    derived["notes"].extend(services["notes"])
    derived.update(pod_cidrs=pod_cidrs, service_cidrs=service_cidrs, nodelocal_dns=list(services["nodelocal_dns"]),
                   cluster_ips=list(services["cluster_ips"]), network_origins=origins)
