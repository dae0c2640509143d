# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""k0s: `k0s controller` (the control plane; a kubelet only with --enable-worker or --single) and
`k0s worker`; its settings are nested keys of k0s.yaml (--config or -c, default
/etc/k0s/k0s.yaml), read by their dotted path. The control plane's own processes (kube-apiserver,
etcd... children of k0s) show their real flags, which win over the file. Pure: takes data,
returns data; the KubernetesFacts it is given collects the result."""

from __future__ import annotations

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect.kube_flags import SERVER_COMPONENTS, flags_from_args

K0S_CONFIG = "/etc/k0s/k0s.yaml"
K0S_PORTS = {"apiserver": "spec.api.port", "k0s_api": "spec.api.k0sApiPort", "konnectivity": "spec.konnectivity.agentPort",
             "nodeport_range": "spec.api.extraArgs.service-node-port-range"}
# (docs.k0sproject.io dual-stack: spec.network.dualStack.enabled with IPv6podCIDR, IPv6serviceCIDR)
K0S_NETWORKS = {"pod_cidrs": "spec.network.podCIDR", "service_cidrs": "spec.network.serviceCIDR"}
K0S_DUAL_STACK = {"pod_cidrs": "spec.network.dualStack.IPv6podCIDR",
                  "service_cidrs": "spec.network.dualStack.IPv6serviceCIDR"}
# k0s's network provider (spec.network.provider: kuberouter by default, calico, custom) and, for
# calico, its mode (vxlan by default, bird, or the legacy ipip) -> the features it brings.
K0S_PROVIDER = "spec.network.provider"
K0S_CALICO_MODES = {"vxlan": ("calico_vxlan",), "bird": ("calico_bgp", "calico_ipip"),
                    "ipip": ("calico_bgp", "calico_ipip")}
SHORT_FLAGS = {"-c": "--config"}


def config_of(argv):
    """The k0s.yaml a `k0s controller` argv names (--config, -c), or None: the default then."""
    if len(argv) > 1 and argv[0].rsplit("/", 1)[-1] == "k0s" and argv[1] == "controller":
        return flags_from_args(argv[2:], SHORT_FLAGS).get("--config") or None
    return None


def observe(facts, role, flags, where):
    """`k0s controller|worker`: roles, and from k0s.yaml the ports, networks, control-plane load
    balancing and the network provider (kube-router unless another is named)."""
    facts.distribution = "k0s"
    path, config = facts.k0s_config or (K0S_CONFIG, {})
    if role == "worker":
        facts.components.setdefault("kubelet", where)
        return "k0s"
    for component in SERVER_COMPONENTS[:3]:
        facts.components.setdefault(component, where)
    if config.get("spec.storage.type", "etcd") == "etcd":
        facts.components.setdefault("etcd", where)
    else:
        facts.absent["etcd"] = "%s spec.storage.type is %s: no etcd" % (path, config["spec.storage.type"])
    runs_pods = "--enable-worker" in flags or "--single" in flags
    if runs_pods:
        facts.components.setdefault("kubelet", where)
    elif "kubelet" not in facts.components:
        # A controller alone runs no kubelet and no kube-proxy: its role's kubelet and NodePort
        # rows would open ports nothing serves.
        facts.absent["kubelet"] = facts.absent["k8s_nodeport"] = "%s: a k0s controller without --enable-worker" % where
    facts.add_feature("k0s_controller")
    _provider(facts, path, config, runs_pods)
    if config.get("spec.network.controlPlaneLoadBalancing.enabled", "").lower() == "true":
        facts.add_feature("k0s_cplb")
    for key, dotted in K0S_PORTS.items():
        if dotted in config:
            facts.set_ports({key: "--" + key}, {"--" + key: config[dotted]}, None, "%s %s" % (path, dotted))
    _networks(facts, path, config)
    return "k0s"


def _networks(facts, path, config):
    """podCIDR and serviceCIDR, and with dual-stack enabled their IPv6 halves."""
    dual = config.get("spec.network.dualStack.enabled", "").lower() == "true"
    for key, dotted in K0S_NETWORKS.items():
        values = [config[dotted]] if config.get(dotted) else []
        origin = "%s %s" % (path, dotted)
        if dual and config.get(K0S_DUAL_STACK[key]):
            values.append(config[K0S_DUAL_STACK[key]])
            origin += " and %s" % K0S_DUAL_STACK[key]
        if values:
            facts.set_networks({key: "--" + key}, {"--" + key: ",".join(values)}, None, origin)


def _provider(facts, path, config, runs_pods):
    """k0s.yaml's network provider: its features on a controller that runs pods (--enable-worker,
    --single); a controller alone runs none of it (its workers show the provider's process)."""
    provider = (config.get(K0S_PROVIDER) or "kuberouter").strip().lower()
    where = "%s %s" % (path, K0S_PROVIDER) if K0S_PROVIDER in config else "k0s's default network provider"
    facts.network_provider = (provider, where)
    if provider == "custom":
        facts.notes.append("k0s: %s is custom: the CNI is the one you installed, planned from what the node "
                           "shows of it (its CNI config, process, devices)" % where)
        return
    if not runs_pods:
        return
    if provider == "kuberouter":
        facts.add_feature("kube_router")
    elif provider == "calico":
        _calico(facts, path, config)
    else:
        facts.notes.append("k0s: %s is %r, not kuberouter, calico or custom: nothing planned from it"
                           % (where, provider))


def _calico(facts, path, config):
    """k0s's Calico: its mode (vxlan, bird, ipip), overlay, vxlanPort and wireguard."""
    mode = (config.get("spec.network.calico.mode") or "vxlan").strip().lower()
    overlay = (config.get("spec.network.calico.overlay") or "Always").strip().lower()
    features = K0S_CALICO_MODES.get(mode)
    if features is None:
        facts.notes.append("k0s: %s spec.network.calico.mode %r is not vxlan, bird or ipip: Calico's "
                           "tunnel is not planned from the file" % (path, mode))
        features = ()
    for feature in ("calico_health",) + tuple(features):
        if feature == "calico_ipip" and overlay == "never":
            continue
        facts.add_feature(feature)
    if "calico_vxlan" in features and "spec.network.calico.vxlanPort" in config:
        port = config["spec.network.calico.vxlanPort"]
        facts.set_ports({"calico_vxlan": "--vxlan-port"}, {"--vxlan-port": port}, None,
                        "%s spec.network.calico.vxlanPort" % path)
    if config.get("spec.network.calico.wireguard", "").lower() == "true":
        facts.add_feature("calico_wireguard")
