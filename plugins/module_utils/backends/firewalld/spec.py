# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The firewalld backend as the controller sees it (backends/spec.py): our table (the nftables
backend's file) plus our firewalld objects; chosen whenever firewalld runs. Pure; the node half is
host.py."""

from __future__ import annotations

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends import blockers as common
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.firewalld import render
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.nftables import render as nftables
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.spec import Spec, firewall_of


def render_files(plan):
    return {"microseg.nft": nftables.ruleset_file(plan), "objects": render.objects_file(plan)}


def running(evidence):
    """Its zones reject what they do not allow: the plan's flows must be opened in firewalld too."""
    firewalld = firewall_of(evidence).get("firewalld") or {}
    if firewalld.get("active"):
        return "firewalld is running (its %s backend)" % (firewalld.get("backend") or "nftables")
    return None


def blockers(facts):
    """Our policy opens the plan in firewalld's zones and table; on firewalld's iptables backend our
    direct rules run in that variant's INPUT ahead of its terminal rule."""
    firewalld = (facts or {}).get("firewalld") or {}
    return common.input_blockers(facts, opens_firewalld=True,
                                 driven_tables=(common.OUR_NFT_TABLE, common.FIREWALLD_NFT_TABLE),
                                 in_iptables_input=bool(firewalld.get("active") and firewalld.get("backend") == "iptables"))


def notes(node_name, facts):
    firewalld = (facts or {}).get("firewalld") or {}
    if firewalld.get("active") and firewalld.get("backend") == "iptables":
        return ["%s: firewalld runs its iptables backend: the firewalld backend opens the plan there with "
                "firewalld direct rules and never reloads firewalld; a firewall-cmd --reload or a firewalld "
                "restart of yours flushes every iptables table (kube-proxy's, Docker's and the CNI's rules) "
                "until each puts its own back; FirewallBackend=nftables does not, and we recommend it" % node_name]
    return []


SPEC = Spec(
    name="firewalld",
    files=("microseg.nft", "objects"),
    kept=("microseg.nft",),
    packages={"nft": "nftables"},
    render=render_files,
    choices=((10, running),),
    blockers=blockers,
    removes="our table inet microseg, our firewalld policy and ipsets, our firewalld direct rules",
    notes=notes,
)
