# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The port catalog: what each cluster role or feature needs inbound, as one table of data.

Nothing here decides; the planner (planner/) reads these tables. A row says which
feature turns it on, the protocol and default port, which detected/configured value
(``port_key``) overrides that default, who may connect (peer classes) and why.
"""

from __future__ import annotations

from collections import namedtuple

# Who may connect. The planner turns each class into a named address set.
PEER_ANY = "any"              # every source
PEER_SELF = "self"            # the node's own addresses
PEER_CONTROL_PLANE = "control_plane"    # control-plane and etcd nodes
PEER_CLUSTER = "cluster_nodes"          # every Kubernetes node
PEER_SWARM = "swarm_nodes"              # every swarm node
PEER_SWARM_MANAGERS = "swarm_managers"  # swarm managers
PEER_MANAGEMENT = "management"          # microseg_management_cidrs + the Ansible controller
PEER_POD_NETWORK = "pod_network"        # the pod CIDRs: pods reaching the host (scope port: any source)

KUBERNETES_ROLES = ("kube_control_plane", "kube_node", "etcd")
# Peer classes made of cluster nodes: these follow microseg_scope (node_ip / cidr / port).
NODE_PEER_ROLES = {
    PEER_CONTROL_PLANE: ("kube_control_plane", "etcd"),
    PEER_CLUSTER: KUBERNETES_ROLES,
    PEER_SWARM: ("swarm_manager", "swarm_worker"),
    PEER_SWARM_MANAGERS: ("swarm_manager",),
}
PEER_CLASSES = (PEER_ANY, PEER_SELF, PEER_MANAGEMENT, PEER_POD_NETWORK) + tuple(sorted(NODE_PEER_ROLES))

# Where a row's packets go when it is not to every address of the node: local addresses that are
# not the node's own (kube-proxy IPVS puts every ClusterIP on kube-ipvs0; NodeLocal DNSCache its
# link-local address on the nodelocaldns device). The planner turns each into a named address set.
DEST_SERVICE_NETWORK = "service_network"     # the Service CIDR(s)
DEST_NODELOCAL_DNS = "nodelocal_dns"         # NodeLocal DNSCache's listen addresses
DEST_IPVS_ADDRESSES = "ipvs_addresses"       # the addresses kube-proxy (IPVS) put on kube-ipvs0 (node facts)
DESTINATIONS = (DEST_SERVICE_NETWORK, DEST_NODELOCAL_DNS, DEST_IPVS_ADDRESSES)

# Cluster roles, the inventory group each is read from, and the features each turns on.
ROLE_GROUPS = {
    "kube_control_plane": "kube_control_plane",
    "kube_node": "kube_node",
    "etcd": "etcd",
    "swarm_manager": "swarm_managers",
    "swarm_worker": "swarm_workers",
}
ROLE_FEATURES = {
    # kube-proxy runs on control planes too (a DaemonSet that tolerates their taint): NodePorts.
    "kube_control_plane": ("k8s_control_plane", "kubelet", "k8s_nodeport"),
    "kube_node": ("kubelet", "k8s_nodeport"),
    "etcd": ("etcd",),
    "swarm_manager": ("swarm_manager", "swarm_node"),
    "swarm_worker": ("swarm_node",),
}
ROLES = tuple(sorted(ROLE_GROUPS))

# The features of a CNI's data plane (their rows admit the pods' traffic between nodes: tunnels,
# BGP, health checks): a Kubernetes node with none of them has no such rows.
CNI_FEATURE_PREFIXES = ("flannel_", "calico_", "canal", "cilium_", "kube_router", "antrea", "weave")

# Protocols: name -> (IP protocol number, families it exists in, takes ports).
PROTOCOLS = {
    "tcp": (6, ("ipv4", "ipv6"), True),
    "udp": (17, ("ipv4", "ipv6"), True),
    "sctp": (132, ("ipv4", "ipv6"), True),
    "icmp": (1, ("ipv4",), False),
    "icmpv6": (58, ("ipv6",), False),
    "esp": (50, ("ipv4", "ipv6"), False),
    "ah": (51, ("ipv4", "ipv6"), False),
    "gre": (47, ("ipv4", "ipv6"), False),
    "ipip": (4, ("ipv4",), False),
    "vrrp": (112, ("ipv4", "ipv6"), False),
    "all": (None, ("ipv4", "ipv6"), False),
}
PROTOCOL_NUMBERS = dict((number, name) for name, (number, _families, _ports) in PROTOCOLS.items() if number is not None)

SRC_K8S = "https://kubernetes.io/docs/reference/networking/ports-and-protocols/"
SRC_KUBE_PROXY = "https://kubernetes.io/docs/reference/config-api/kube-proxy-config.v1alpha1/ (healthzBindAddress)"
SRC_RKE2 = "https://docs.rke2.io/install/requirements (inbound network rules)"
SRC_K3S_REGISTRY = "https://docs.k3s.io/installation/registry-mirror"
SRC_MICROK8S = "https://microk8s.io/docs/services-and-ports"
SRC_K0S = "https://docs.k0sproject.io/stable/networking/ (needed open ports and protocols)"
SRC_KUBE_ROUTER = "https://github.com/cloudnativelabs/kube-router/blob/master/docs/user-guide.md"
SRC_METRICS = "https://github.com/kubernetes-sigs/metrics-server#requirements (kubelet 10250 from metrics-server)"
SRC_NODELOCAL = "https://kubernetes.io/docs/tasks/administer-cluster/nodelocaldns/"
SRC_IPVS = "https://kubernetes.io/docs/reference/networking/virtual-ips/#proxy-mode-ipvs"
SRC_SWARM = "https://docs.docker.com/engine/swarm/swarm-tutorial/#open-protocols-and-ports-between-the-hosts"
SRC_OVERLAY = "https://docs.docker.com/engine/network/drivers/overlay/"
SRC_DOCKER_TLS = "https://docs.docker.com/engine/security/protect-access/"
SRC_DOCKER_DRIVERS = "https://docs.docker.com/engine/network/drivers/"
SRC_FLANNEL = "https://github.com/flannel-io/flannel/blob/master/Documentation/backends.md"
SRC_TAILSCALE = ("https://docs.k3s.io/networking/distributed-multicloud"
                 "#integration-with-the-tailscale-vpn-provider-experimental")
SRC_CALICO = "https://docs.tigera.io/calico/latest/getting-started/kubernetes/requirements#network-requirements"
SRC_CALICO_FELIX = "https://docs.tigera.io/calico/latest/reference/felix/configuration (DefaultEndpointToHostAction)"
SRC_CANAL = "https://docs.tigera.io/calico/latest/getting-started/kubernetes/flannel/install-for-flannel"
SRC_CILIUM = "https://docs.cilium.io/en/stable/operations/system_requirements/#firewall-rules"
SRC_ANTREA = "https://github.com/antrea-io/antrea/blob/main/docs/network-requirements.md"
SRC_WEAVE = "https://github.com/weaveworks/weave/blob/master/site/faq.md#ports"

# restricted_by: a policy variable (without "microseg_") whose sources, when the user sets them,
# replace the row's "any" (the cluster's nodes, the node itself and the pod network are added).
# extended_by: a policy variable whose sources are added to the row's peers (peers outside the
# inventory, like BGP routers).
# to: one of DESTINATIONS when the row admits packets to those addresses only (None: any).
Entry = namedtuple("Entry", "id feature proto port port_key peers why source families icmp_type restricted_by "
                            "extended_by to")
# families (None: the protocol's), icmp_type, restricted_by, extended_by, to
Entry.__new__.__defaults__ = (None, None, None, None, None)


def _row(entry_id, feature, proto, port, port_key, peers, why, source, families=None, icmp_type=None,
         restricted_by=None, extended_by=None, to=None):
    return Entry(entry_id, feature, proto, port, port_key, tuple(peers), why, source, families, icmp_type,
                 restricted_by, extended_by, to)


# fmt: off
ENTRIES = (
    # Kubernetes control plane (kubeadm defaults; flags in the static pod manifests override).
    _row("k8s_apiserver", "k8s_control_plane", "tcp", 6443, "apiserver", [PEER_ANY],
         "kube-apiserver (--secure-port)", SRC_K8S, restricted_by="apiserver_from"),
    _row("k8s_scheduler", "k8s_control_plane", "tcp", 10259, "scheduler", [PEER_SELF],
         "kube-scheduler (--secure-port)", SRC_K8S),
    _row("k8s_controller_manager", "k8s_control_plane", "tcp", 10257, "controller_manager", [PEER_SELF],
         "kube-controller-manager (--secure-port)", SRC_K8S),
    _row("etcd_client", "etcd", "tcp", 2379, "etcd_client", [PEER_CONTROL_PLANE],
         "etcd client API, used by kube-apiserver (--listen-client-urls)", SRC_K8S),
    _row("etcd_peer", "etcd", "tcp", 2380, "etcd_peer", [PEER_CONTROL_PLANE],
         "etcd peer traffic between members (--listen-peer-urls)", SRC_K8S),
    # RKE2: agents register with a server's supervisor (the API server stays on 6443).
    _row("rke2_supervisor", "rke2_supervisor", "tcp", 9345, "rke2_supervisor", [PEER_CLUSTER],
         "RKE2 supervisor: agents and joining servers register here", SRC_RKE2),
    # k3s's embedded registry mirror (Spegel): a server flag turns it on for every node of the cluster.
    _row("k3s_spegel_p2p", "k3s_embedded_registry", "tcp", 5001, "k3s_spegel_p2p", [PEER_CLUSTER],
         "k3s embedded registry mirror (Spegel): the peer-to-peer image list (K3S_P2P_PORT)", SRC_K3S_REGISTRY),
    _row("k3s_spegel_registry", "k3s_embedded_registry", "tcp", 6443, "apiserver", [PEER_CLUSTER],
         "k3s embedded registry mirror: every node, agents too, serves its images on port 6443", SRC_K3S_REGISTRY),
    # k0s: controllers talk on the k0s API and etcd; workers reach the controllers' konnectivity
    # server; keepalived's VRRP between controllers with control-plane load balancing.
    _row("k0s_api", "k0s_controller", "tcp", 9443, "k0s_api", [PEER_CONTROL_PLANE],
         "k0s API between controllers (spec.api.k0sApiPort)", SRC_K0S),
    _row("k0s_konnectivity", "k0s_controller", "tcp", 8132, "konnectivity", [PEER_CLUSTER],
         "konnectivity: workers' agents reach the controllers (spec.konnectivity.agentPort)", SRC_K0S),
    _row("k0s_cplb_vrrp", "k0s_cplb", "vrrp", None, None, [PEER_CONTROL_PLANE],
         "k0s control-plane load balancing: keepalived VRRP (IP protocol 112) between controllers", SRC_K0S),
    _row("kubelet_api", "kubelet", "tcp", 10250, "kubelet", [PEER_SELF, PEER_CLUSTER, PEER_POD_NETWORK],
         "kubelet API (KubeletConfiguration port): the API server, and metrics-server or Prometheus in pods "
         "on any node", SRC_METRICS),
    _row("kubelet_readonly", "kubelet_readonly", "tcp", 10255, "kubelet_readonly",
         [PEER_SELF, PEER_CLUSTER, PEER_POD_NETWORK],
         "kubelet read-only HTTP port (--read-only-port, readOnlyPort), when set: metrics scrapers", SRC_MICROK8S),
    # MicroK8s: nodes join through each other's cluster agent; control-plane nodes replicate dqlite.
    _row("microk8s_cluster_agent", "microk8s", "tcp", 25000, "microk8s_cluster_agent", [PEER_CLUSTER],
         "MicroK8s cluster agent: joining and managing nodes ($SNAP_DATA/args/cluster-agent --bind)", SRC_MICROK8S),
    _row("microk8s_dqlite", "microk8s_dqlite", "tcp", 19001, "microk8s_dqlite", [PEER_CONTROL_PLANE],
         "MicroK8s dqlite datastore between control-plane nodes (backend/info.yaml Address)", SRC_MICROK8S),
    _row("k8s_nodeport_tcp", "k8s_nodeport", "tcp", "30000-32767", "nodeport_range", [PEER_ANY],
         "NodePort Services (apiserver --service-node-port-range)", SRC_K8S),
    _row("k8s_nodeport_udp", "k8s_nodeport", "udp", "30000-32767", "nodeport_range", [PEER_ANY],
         "NodePort Services over UDP (apiserver --service-node-port-range)", SRC_K8S),
    _row("k8s_service_ipvs", "kube_proxy_ipvs", "all", None, None, [PEER_POD_NETWORK, PEER_CLUSTER],
         "Services in kube-proxy IPVS mode: every ClusterIP is a local address (kube-ipvs0), so traffic to "
         "a Service crosses INPUT before IPVS forwards it", SRC_IPVS, to=DEST_SERVICE_NETWORK),
    _row("k8s_service_ipvs_local", "kube_proxy_ipvs", "all", None, None, [PEER_ANY],
         "Services in kube-proxy IPVS mode: the LoadBalancer, externalIP and ClusterIP addresses kube-proxy put "
         "on kube-ipvs0 are local, not DNAT'ed before INPUT: admitted from any source as the DNAT rule admits "
         "them in iptables mode (kube-proxy's own filter polices their ports and loadBalancerSourceRanges)",
         SRC_IPVS, to=DEST_IPVS_ADDRESSES),
    _row("nodelocal_dns_udp", "nodelocal_dns", "udp", 53, "nodelocal_dns", [PEER_POD_NETWORK],
         "NodeLocal DNSCache: pods ask the cache on their own node", SRC_NODELOCAL, to=DEST_NODELOCAL_DNS),
    _row("nodelocal_dns_tcp", "nodelocal_dns", "tcp", 53, "nodelocal_dns", [PEER_POD_NETWORK],
         "NodeLocal DNSCache over TCP (large answers)", SRC_NODELOCAL, to=DEST_NODELOCAL_DNS),
    _row("kube_proxy_healthz", "kube_proxy_healthz", "tcp", 10256, "kube_proxy_healthz", [PEER_ANY],
         "kube-proxy health check for load balancers (healthzBindAddress)", SRC_KUBE_PROXY),

    # Docker Swarm.
    _row("swarm_manager", "swarm_manager", "tcp", 2377, "swarm_manager", [PEER_SWARM],
         "swarm cluster management (docker swarm init --listen-addr)", SRC_SWARM),
    _row("swarm_gossip_tcp", "swarm_node", "tcp", 7946, "swarm_gossip", [PEER_SWARM],
         "swarm node discovery and gossip", SRC_SWARM),
    _row("swarm_gossip_udp", "swarm_node", "udp", 7946, "swarm_gossip", [PEER_SWARM],
         "swarm node discovery and gossip", SRC_SWARM),
    _row("swarm_data_path", "swarm_node", "udp", 4789, "swarm_data_path", [PEER_SWARM],
         "swarm overlay VXLAN data path (--data-path-port); never open it to untrusted networks", SRC_SWARM),
    _row("swarm_esp", "swarm_encrypted", "esp", None, None, [PEER_SWARM],
         "encrypted overlay networks (IPsec ESP)", SRC_OVERLAY),
    _row("docker_tls", "docker_tls", "tcp", 2376, "docker_tls", [PEER_SWARM_MANAGERS, PEER_MANAGEMENT],
         "Docker daemon API over TLS (dockerd -H tcp://...:2376)", SRC_DOCKER_TLS),
    _row("docker_bridge", "docker_bridge", None, None, None, [],
         "Docker bridge networks: container traffic is forwarded, nothing to open", SRC_DOCKER_DRIVERS),
    _row("docker_host", "docker_host", None, None, None, [],
         "Docker host networking: the container is the host, nothing to open", SRC_DOCKER_DRIVERS),
    _row("docker_macvlan", "docker_macvlan", None, None, None, [],
         "Docker macvlan/ipvlan networks: layer 2, never crosses the host firewall", SRC_DOCKER_DRIVERS),

    # flannel backends.
    _row("flannel_vxlan", "flannel_vxlan", "udp", 8472, "flannel_vxlan", [PEER_CLUSTER],
         "flannel vxlan backend (Backend.Port; Linux default 8472)", SRC_FLANNEL),
    _row("flannel_udp", "flannel_udp", "udp", 8285, "flannel_udp", [PEER_CLUSTER],
         "flannel udp backend (Backend.Port)", SRC_FLANNEL),
    _row("flannel_wireguard", "flannel_wireguard", "udp", 51820, "flannel_wireguard", [PEER_CLUSTER],
         "flannel wireguard backend (ListenPort)", SRC_FLANNEL),
    _row("flannel_wireguard_v6", "flannel_wireguard", "udp", 51821, "flannel_wireguard_v6", [PEER_CLUSTER],
         "flannel wireguard backend, IPv6 (ListenPortV6)", SRC_FLANNEL, families=("ipv6",)),
    # k3s --vpn-auth: flannel's extension backend over Tailscale; tailscaled's WireGuard between nodes.
    _row("flannel_tailscale", "flannel_tailscale", "udp", 41641, "tailscale", [PEER_CLUSTER],
         "k3s --vpn-auth (Tailscale): tailscaled's WireGuard between the nodes (tailscaled --port)", SRC_TAILSCALE),
    _row("flannel_ipip", "flannel_ipip", "ipip", None, None, [PEER_CLUSTER],
         "flannel ipip backend (IP protocol 4)", SRC_FLANNEL),
    _row("flannel_ipsec_esp", "flannel_ipsec", "esp", None, None, [PEER_CLUSTER],
         "flannel ipsec backend: the data path (IPsec ESP)", SRC_FLANNEL),
    _row("flannel_ipsec_ike", "flannel_ipsec", "udp", 500, "flannel_ipsec_ike", [PEER_CLUSTER],
         "flannel ipsec backend: IKE key exchange (strongSwan charon)", SRC_FLANNEL),
    _row("flannel_ipsec_nat_t", "flannel_ipsec", "udp", 4500, "flannel_ipsec_nat_t", [PEER_CLUSTER],
         "flannel ipsec backend: IKE and ESP through NAT (NAT-T)", SRC_FLANNEL),
    _row("flannel_host_gw", "flannel_host_gw", None, None, None, [],
         "flannel host-gw backend: plain routing, nothing to open (needs layer 2 adjacency)", SRC_FLANNEL),

    # Calico.
    _row("calico_bgp", "calico_bgp", "tcp", 179, "calico_bgp", [PEER_CLUSTER],
         "Calico BGP (bird) between nodes and route reflectors", SRC_CALICO, extended_by="bgp_peers"),
    _row("calico_ipip", "calico_ipip", "ipip", None, None, [PEER_CLUSTER],
         "Calico IPIP encapsulation (IP protocol 4)", SRC_CALICO),
    _row("calico_vxlan", "calico_vxlan", "udp", 4789, "calico_vxlan", [PEER_CLUSTER],
         "Calico VXLAN encapsulation (FELIX_VXLANPORT)", SRC_CALICO),
    _row("calico_typha", "calico_typha", "tcp", 5473, "calico_typha", [PEER_CLUSTER],
         "Calico Typha, on the nodes that run it", SRC_CALICO),
    _row("calico_health", "calico_health", "tcp", 9099, "calico_health", [PEER_SELF, PEER_CLUSTER],
         "calico-node (felix) health checks (FELIX_HEALTHPORT)", SRC_RKE2),
    _row("calico_typha_health", "calico_typha", "tcp", 9098, "calico_typha_health", [PEER_SELF, PEER_CLUSTER],
         "Calico Typha health checks, on the nodes that run it", SRC_RKE2),
    _row("calico_endpoint_to_host_accept", "calico_endpoint_to_host_accept", None, None, None, [],
         "Calico FELIX_DEFAULTENDPOINTTOHOSTACTION=ACCEPT: with the iptables backend Calico's cali-wl-to-host "
         "accepts pods' traffic to this host before our chain, so that traffic is Calico's to police (host "
         "endpoint policy) and our blacklist and whitelist do not see it; the nftables and firewalld backends' "
         "table still filters it: the backends differ for traffic from pods", SRC_CALICO_FELIX),
    _row("calico_wireguard", "calico_wireguard", "udp", 51820, "calico_wireguard", [PEER_CLUSTER],
         "Calico WireGuard (FELIX_WIREGUARDLISTENINGPORT)", SRC_CALICO),
    _row("calico_wireguard_v6", "calico_wireguard", "udp", 51821, "calico_wireguard_v6", [PEER_CLUSTER],
         "Calico WireGuard, IPv6 (FELIX_WIREGUARDLISTENINGPORTV6)", SRC_CALICO, families=("ipv6",)),

    # Canal: flannel carries the data (vxlan by default), Calico's felix only enforces policy (no BGP).
    _row("canal_vxlan", "canal", "udp", 8472, "flannel_vxlan", [PEER_CLUSTER],
         "canal (flannel vxlan data path)", SRC_CANAL),
    _row("canal_health", "canal", "tcp", 9099, "calico_health", [PEER_SELF, PEER_CLUSTER],
         "canal health checks (calico-node's felix health port, FELIX_HEALTHPORT)", SRC_RKE2),
    _row("canal_wireguard", "canal_wireguard", "udp", 51820, "flannel_wireguard", [PEER_CLUSTER],
         "canal with WireGuard (flannel's wireguard backend, ListenPort)", SRC_RKE2),
    _row("canal_wireguard_v6", "canal_wireguard", "udp", 51821, "flannel_wireguard_v6", [PEER_CLUSTER],
         "canal with WireGuard, IPv6 (ListenPortV6)", SRC_RKE2, families=("ipv6",)),

    # Cilium.
    _row("cilium_vxlan", "cilium_vxlan", "udp", 8472, "cilium_vxlan", [PEER_CLUSTER],
         "Cilium VXLAN overlay", SRC_CILIUM),
    _row("cilium_geneve", "cilium_geneve", "udp", 6081, "cilium_geneve", [PEER_CLUSTER],
         "Cilium Geneve overlay", SRC_CILIUM),
    _row("cilium_health", "cilium_health", "tcp", 4240, "cilium_health", [PEER_CLUSTER],
         "Cilium cluster health checks", SRC_CILIUM),
    _row("cilium_health_icmp", "cilium_health", "icmp", None, None, [PEER_CLUSTER],
         "Cilium cluster health checks (ICMP echo)", SRC_CILIUM, icmp_type=8),
    _row("cilium_health_icmpv6", "cilium_health", "icmpv6", None, None, [PEER_CLUSTER],
         "Cilium cluster health checks (ICMPv6 echo)", SRC_CILIUM, icmp_type=128),
    _row("cilium_wireguard", "cilium_wireguard", "udp", 51871, "cilium_wireguard", [PEER_CLUSTER],
         "Cilium WireGuard encryption", SRC_CILIUM),
    _row("cilium_hubble", "cilium_hubble", "tcp", 4244, "cilium_hubble", [PEER_CLUSTER],
         "Hubble server (hubble-listen-address)", SRC_CILIUM),
    _row("cilium_ipsec", "cilium_ipsec", "esp", None, None, [PEER_CLUSTER],
         "Cilium IPsec encryption (ESP)", SRC_CILIUM),
    _row("cilium_mutual_auth", "cilium_mutual_auth", "tcp", 4250, "cilium_mutual_auth", [PEER_CLUSTER],
         "Cilium mutual authentication (mesh-auth-mutual-listener-port)", SRC_CILIUM),
    _row("cilium_metrics", "cilium_metrics", "tcp", 9962, "cilium_metrics", [PEER_CLUSTER, PEER_POD_NETWORK],
         "cilium-agent metrics for Prometheus (prometheus-serve-addr)", SRC_CILIUM),
    _row("cilium_bgp", "cilium_bgp", "tcp", 179, "cilium_bgp", [PEER_CLUSTER],
         "Cilium BGP control plane", SRC_CILIUM, extended_by="bgp_peers"),
    _row("cilium_kube_proxy_replacement", "cilium_kube_proxy_replacement", None, None, None, [],
         "Cilium's kube-proxy replacement answers NodePorts and Services in eBPF before netfilter: this plan's "
         "NodePort rules neither see nor guard that traffic (use Cilium's host policies for it)", SRC_CILIUM),
    _row("cilium_host_firewall", "cilium_host_firewall", None, None, None, [],
         "Cilium's host firewall enforces its own host policies as well: a packet must pass both", SRC_CILIUM),

    # kube-router (k0s's default network provider).
    _row("kube_router_bgp", "kube_router", "tcp", 179, "kube_router_bgp", [PEER_CLUSTER],
         "kube-router BGP between nodes (--bgp-port)", SRC_KUBE_ROUTER),
    _row("kube_router_ipip", "kube_router", "ipip", None, None, [PEER_CLUSTER],
         "kube-router overlay between nodes in other subnets (IPIP, --overlay-encap=ipip)", SRC_KUBE_ROUTER),
    _row("kube_router_fou", "kube_router_fou", "udp", 5555, "kube_router_fou", [PEER_CLUSTER],
         "kube-router overlay with FoU encapsulation (--overlay-encap=fou, --overlay-encap-port)", SRC_KUBE_ROUTER),

    # Antrea (Open vSwitch): one tunnel type per cluster, the agents' and controller's APIs, and the
    # agents' memberlist cluster (Egress, on by default).
    _row("antrea_geneve", "antrea_geneve", "udp", 6081, "antrea_tunnel", [PEER_CLUSTER],
         "Antrea Geneve tunnel (tunnelType geneve, tunnelPort)", SRC_ANTREA),
    _row("antrea_vxlan", "antrea_vxlan", "udp", 4789, "antrea_tunnel", [PEER_CLUSTER],
         "Antrea VXLAN tunnel (tunnelType vxlan, tunnelPort)", SRC_ANTREA),
    _row("antrea_stt", "antrea_stt", "tcp", 7471, "antrea_tunnel", [PEER_CLUSTER],
         "Antrea STT tunnel (tunnelType stt, tunnelPort)", SRC_ANTREA),
    _row("antrea_gre", "antrea_gre", "gre", None, None, [PEER_CLUSTER],
         "Antrea GRE tunnel (IP protocol 47)", SRC_ANTREA, families=("ipv4",)),
    _row("antrea_agent_api", "antrea", "tcp", 10350, "antrea_agent_api", [PEER_CLUSTER],
         "antrea-agent API: the controller and the API server reach every agent (apiPort)", SRC_ANTREA),
    _row("antrea_controller_api", "antrea_controller", "tcp", 10349, "antrea_controller_api", [PEER_CLUSTER],
         "antrea-controller API on the node it runs on: the agents reach it (apiPort)", SRC_ANTREA),
    _row("antrea_cluster_tcp", "antrea_egress", "tcp", 10351, "antrea_cluster", [PEER_CLUSTER],
         "Antrea agents' memberlist cluster for Egress (clusterPort)", SRC_ANTREA),
    _row("antrea_cluster_udp", "antrea_egress", "udp", 10351, "antrea_cluster", [PEER_CLUSTER],
         "Antrea agents' memberlist cluster for Egress, UDP (clusterPort)", SRC_ANTREA),
    _row("antrea_wireguard", "antrea_wireguard", "udp", 51820, "antrea_wireguard", [PEER_CLUSTER],
         "Antrea WireGuard encryption (trafficEncryptionMode wireguard, wireGuard.port)", SRC_ANTREA),
    _row("antrea_ipsec_esp", "antrea_ipsec", "esp", None, None, [PEER_CLUSTER],
         "Antrea IPsec encryption (ESP)", SRC_ANTREA),
    _row("antrea_ipsec_ah", "antrea_ipsec", "ah", None, None, [PEER_CLUSTER],
         "Antrea IPsec (AH, IP protocol 51, as its requirements list it)", SRC_ANTREA),
    _row("antrea_ipsec_ike", "antrea_ipsec", "udp", 500, "antrea_ipsec_ike", [PEER_CLUSTER],
         "Antrea IPsec key exchange (IKE)", SRC_ANTREA),
    _row("antrea_ipsec_nat_t", "antrea_ipsec", "udp", 4500, "antrea_ipsec_nat_t", [PEER_CLUSTER],
         "Antrea IPsec through NAT (NAT-T)", SRC_ANTREA),
    _row("antrea_bgp", "antrea_bgp", "tcp", 179, "antrea_bgp", [PEER_CLUSTER],
         "Antrea BGPPolicy: BGP with the peers its policies name", SRC_ANTREA, extended_by="bgp_peers"),

    # Weave Net (no longer maintained: kept as it is, nothing added).
    _row("weave_control", "weave", "tcp", 6783, "weave_control", [PEER_CLUSTER],
         "Weave Net control", SRC_WEAVE),
    _row("weave_data", "weave", "udp", "6783-6784", "weave_data", [PEER_CLUSTER],
         "Weave Net data path (sleeve and fastdp)", SRC_WEAVE),
    _row("weave_esp", "weave_encrypted", "esp", None, None, [PEER_CLUSTER],
         "Weave Net encrypted fastdp (IPsec ESP)", SRC_WEAVE),
)
# fmt: on

# Always on, whatever the node runs: the planner emits these ahead of every other rule so
# no plan can lock out the operator or break established connections.
MANAGEMENT_SSH = _row("management_ssh", "always", "tcp", 22, "ssh", [PEER_MANAGEMENT],
                      "SSH for the Ansible controller and admins (the connection's port)",
                      "lockout safety")
# First of all: the node talking to itself (never a remote source, so no blacklist applies).
BASE_MATCHES = (
    ("loopback", "loopback interface: the node talking to itself", "host firewall hygiene"),
)
# After the management path and the blacklist (which is final), what every host needs.
ESSENTIAL_MATCHES = (
    ("established", "replies and related traffic of connections already admitted (conntrack)",
     "host firewall hygiene"),
    ("icmp_essential", "ICMP errors for path MTU discovery, ICMPv6 neighbour discovery and MLD",
     "RFC 4890; host firewall hygiene"),
    ("dhcpv6_client", "DHCPv6 replies to this node's client (udp 547 -> 546, link-local)",
     "RFC 8415; RFC 4890"),
)
# Service traffic that kube-proxy or Docker already DNAT'ed is theirs to filter.
DNAT_MATCH = ("dnat", "connections kube-proxy or Docker DNAT'ed to this node (Services, published ports)",
              "kube-proxy / Docker own this traffic")
ICMP_ESSENTIAL = {
    "ipv4": (3, 11, 12),                           # unreachable (incl. frag needed), time exceeded, param problem
    # errors incl. packet too big; MLD query/report/done and MLDv2 report (RFC 4890 4.4.1: must not be
    # dropped); router and neighbour discovery
    "ipv6": (1, 2, 3, 4, 130, 131, 132, 133, 134, 135, 136, 143),
}
DHCPV6_CLIENT = {"proto": "udp", "source_port": 547, "port": 546, "source": "fe80::/10"}

# IP protocol numbers the two backends cannot match alike, refused in user rules: iptables reads
# "-p 0" as every protocol while nft matches (almost) nothing, and iptables-save drops it; for the
# IPv6 extension headers both look past the header for the layer-4 protocol; 255 is reserved.
UNMATCHABLE_PROTOCOLS = {
    0: "HOPOPT (iptables takes -p 0 for every protocol; write 'all' for that)",
    43: "the IPv6 routing extension header",
    44: "the IPv6 fragment extension header",
    60: "the IPv6 destination options extension header",
    135: "the IPv6 mobility extension header",
    139: "the HIP extension header",
    140: "the Shim6 extension header",
    255: "reserved",
}

# Settings of the whole cluster, read on one node but needed on others: the NodePort range is
# an API server flag (the workers serve NodePorts); the swarm's data-path port is only shown
# by managers (every swarm node receives VXLAN on it).
CLUSTER_WIDE_PORT_KEYS = ("nodeport_range", "swarm_data_path")
# Features one node's settings turn on for every Kubernetes node of the cluster (k3s servers'
# --embedded-registry: agents do not show it).
CLUSTER_WIDE_FEATURES = ("k3s_embedded_registry",)

FEATURES = tuple(sorted(set(entry.feature for entry in ENTRIES)))
PORT_KEYS = tuple(sorted(set(entry.port_key for entry in ENTRIES + (MANAGEMENT_SSH,) if entry.port_key)))


# The neighbours: who writes the rules we find in the filter table (by chain-name prefix) and
# the nftables tables (by name) next to ours. Their rules are never touched; detection reports them.
CHAIN_OWNERS = (
    ("KUBE-", "kubernetes"),
    ("cali-", "calico"),
    ("DOCKER", "docker"),
    ("FLANNEL", "flannel"),
    ("CILIUM_", "cilium"),
    ("WEAVE", "weave"),
    ("ufw-", "ufw"),
    ("ufw6-", "ufw"),
    ("MICROSEG", "microseg"),
)
# The host firewalls whose chains hang from INPUT: our jump goes ahead of theirs, so the plan
# decides first and they decide what it leaves (backends/iptables.jump_state).
HOST_FIREWALL_OWNERS = ("ufw",)
NFT_TABLE_OWNERS = {"kube-proxy": "kubernetes", "calico": "calico", "cilium": "cilium", "firewalld": "firewalld",
                    "microseg": "microseg"}


def chain_owner(name):
    """The neighbour that owns a chain, by its name (None: nobody we know)."""
    for prefix, owner in CHAIN_OWNERS:
        if name.startswith(prefix):
            return owner
    return None


def default_port(port_key):
    """The catalog's default for a port setting (e.g. nodeport_range -> "30000-32767")."""
    return next(entry.port for entry in ENTRIES + (MANAGEMENT_SSH,) if entry.port_key == port_key)


def entries_for(features):
    """The catalog rows turned on by a set of features, in catalog order."""
    wanted = set(features)
    return [entry for entry in ENTRIES if entry.feature in wanted]


def features_of_roles(roles):
    """The features a set of cluster roles turns on."""
    found = set()
    for role in roles:
        found.update(ROLE_FEATURES.get(role, ()))
    return found
