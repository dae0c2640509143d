# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The firewall backends, by name: the one list of them (a new backend is a package of its own,
backends/<name>/, and its line here). Pure: the controller (planner, filters) reads the specs
(backends/spec.py) without the node halves; on the node, backends/hosts.py gives each name its
node half (host.py), and a unit test keeps the two equal."""

from __future__ import annotations

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.firewalld.spec import SPEC as FIREWALLD
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.iptables.spec import SPEC as IPTABLES
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.nftables.spec import SPEC as NFTABLES

SPECS = dict((spec.name, spec) for spec in (FIREWALLD, IPTABLES, NFTABLES))
NAMES = tuple(sorted(SPECS))
# host_firewall's default, and auto's when there are no firewall facts at all
DEFAULT = IPTABLES.name


def spec_of(name):
    """The spec of the backend called name; ValueError naming the allowed ones."""
    if name not in SPECS:
        raise ValueError("backend %r is not known; allowed: %s" % (name, ", ".join(NAMES)))
    return SPECS[name]


def choose(firewall, kube_proxy_mode=None, docker_backend=None):
    """(backend, reason) for microseg_backend: auto, from firewall_facts (and kube-proxy's mode,
    Docker's firewall backend): the reason of lowest rank any backend's choices give (firewalld when
    it runs; otherwise where the neighbours are: iptables when it already holds rules, nftables when
    kube-proxy or Docker run on nftables or there is no iptables, ...)."""
    if not firewall:
        return DEFAULT, "no firewall facts: the default"
    evidence = {"firewall": firewall, "kube_proxy_mode": kube_proxy_mode, "docker_backend": docker_backend}
    for _rank, name, chosen in sorted((rank, spec.name, chosen) for spec in SPECS.values()
                                      for rank, chosen in spec.choices):
        reason = chosen(evidence)
        if reason:
            return name, reason
    return DEFAULT, "no backend's choice applies: the default"


def blockers(firewall):
    """{backend: what on the node would still drop what the plan admits} for every backend."""
    return dict((name, spec.blockers(firewall)) for name, spec in sorted(SPECS.items()))


def notes(node_name, firewall):
    """What the node's own firewall means for the plan, each backend's say in the registry's order."""
    return [line for _name, spec in sorted(SPECS.items()) for line in spec.notes(node_name, firewall)]


def render(plan, name):
    """{file name: text} of the backend called name, for the plan."""
    return spec_of(name).render(plan)
