# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The nftables backend as the controller sees it (backends/spec.py): its file, package, when auto
chooses it and what else on a node drops what the plan admits. Pure; the node half is host.py."""

from __future__ import annotations

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends import blockers as common
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.nftables import render
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.spec import Spec, firewall_of, present


def render_files(plan):
    return {"microseg.nft": render.ruleset_file(plan)}


def kube_proxy_nftables(evidence):
    if present(firewall_of(evidence), "nftables") and (evidence or {}).get("kube_proxy_mode") == "nftables":
        return "kube-proxy runs in nftables mode"
    return None


def docker_nftables(evidence):
    if present(firewall_of(evidence), "nftables") and (evidence or {}).get("docker_backend") == "nftables":
        return "Docker runs its nftables firewall backend"
    return None


def no_iptables(evidence):
    facts = firewall_of(evidence)
    return "nft is there, iptables is not" if present(facts, "nftables") and not present(facts, "iptables") else None


def nft_there(evidence):
    return "neither holds rules" if present(firewall_of(evidence), "nftables") else None


def blockers(facts):
    """Our table is one of the input hook's base chains: every other one that drops is a blocker."""
    return common.input_blockers(facts, driven_tables=(common.OUR_NFT_TABLE,))


SPEC = Spec(
    name="nftables",
    files=("microseg.nft",),
    kept=("microseg.nft",),
    packages={"nft": "nftables"},
    render=render_files,
    choices=((30, kube_proxy_nftables), (31, docker_nftables), (32, no_iptables), (50, nft_there)),
    blockers=blockers,
    removes="our table inet microseg",
)
