# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A node's firewall backend and the rules others put there (firewall_facts, node_facts)."""

from __future__ import annotations

import json

from ansible_collections.microseg.cluster_firewall.plugins.module_utils import firewalld_dbus, netfilter
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect import firewall as detect
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.node.node_reader import NodeReader

FIREWALLD_CONF = "/etc/firewalld/firewalld.conf"
SAVE_COMMANDS = {
    ("legacy", "ipv4"): "iptables-legacy-save", ("nf_tables", "ipv4"): "iptables-nft-save",
    ("legacy", "ipv6"): "ip6tables-legacy-save", ("nf_tables", "ipv6"): "ip6tables-nft-save",
}
# The commands the backends run (each backend's spec.py, packages: a unit test keeps this list holding them): the
# facts say which of them the node has, so the role learns what to install without a module run.
BACKEND_COMMANDS = ("ipset", "iptables-restore", "ip6tables-restore", "nft", "firewall-cmd", "ufw")


def _save(reader, module, variant, family):
    """Parsed save output of one variant, or None when that variant is not installed."""
    name = SAVE_COMMANDS[(variant, family)]
    if not module.get_bin_path(name):
        return None
    return netfilter.parse_iptables_save(reader.run(name, [], "%s %s rules" % (variant, family)) or "")


def gather(module, outputs=None):
    """outputs: command outputs shared with the other gatherers of this module run (NodeReader)."""
    reader = NodeReader(module, outputs=outputs)
    iptables = {"present": bool(module.get_bin_path("iptables")), "version": None, "default_variant": None,
                "variant": None, "reason": None, "legacy_rules": 0, "nft_rules": 0, "input": {}}
    foreign = {"ipv4": {}, "ipv6": {}}
    if iptables["present"]:
        version = netfilter.parse_iptables_version(reader.run("iptables", ["--version"], "iptables version") or "")
        iptables.update(version=version["version"], default_variant=version["variant"])
        saved = {}
        for variant in ("legacy", "nf_tables"):
            for family in ("ipv4", "ipv6"):
                saved[(variant, family)] = _save(reader, module, variant, family)
        if not any(saved.values()):
            # A distribution without the -legacy/-nft names: plain iptables-save is the default variant.
            saved[(version["variant"], "ipv4")] = netfilter.parse_iptables_save(
                reader.run("iptables-save", [], "iptables rules") or "")
        iptables["legacy_rules"] = netfilter.rule_count(saved.get(("legacy", "ipv4")) or {})
        iptables["nft_rules"] = netfilter.rule_count(saved.get(("nf_tables", "ipv4")) or {})
        variant, reason = netfilter.choose_variant(version["variant"], iptables["legacy_rules"], iptables["nft_rules"])
        iptables.update(variant=variant, reason=reason)
        for family in ("ipv4", "ipv6"):
            foreign[family] = detect.foreign_chains(saved.get((variant, family)) or {})
        # each installed variant's INPUT: its policy and a terminal DROP/REJECT (what may block the plan)
        iptables["input"] = {}
        for (found_variant, family), tables in sorted(saved.items()):
            if tables and "filter" in tables:
                iptables["input"].setdefault(found_variant, {})[family] = detect.iptables_input_verdict(tables)
    nftables = {"present": bool(module.get_bin_path("nft")), "tables": [], "owners": {}, "input_chains": []}
    if nftables["present"]:
        tables = detect.parse_nft_tables(reader.run("nft", ["list", "tables"], "nft tables") or "")
        nftables.update(tables=["%s %s" % table for table in tables], owners=detect.nft_owners(tables))
        text = reader.run("nft", ["-j", "list", "ruleset"], "nft ruleset")
        try:
            nftables["input_chains"] = detect.nft_input_chains(json.loads(text)) if text else []
        except ValueError as error:
            reader.problem("nft -j list ruleset: unreadable output (%s)" % error)
    firewalld = {"active": False, "backend": None}
    if module.get_bin_path("firewall-cmd"):
        firewalld["active"] = firewalld_dbus.running(firewalld_dbus.connect(), lambda: module.run_command(
            ["firewall-cmd", "--state"], environ_update={"LANG": "C"}))
        firewalld["backend"] = netfilter.firewalld_backend(reader.read_text(FIREWALLD_CONF))
    ufw = {"active": False}
    if module.get_bin_path("ufw"):
        rc, out, _err = module.run_command(["ufw", "status"], environ_update={"LANG": "C"})
        ufw["active"] = rc == 0 and "Status: active" in out
    commands = [name for name in BACKEND_COMMANDS if module.get_bin_path(name)]
    return {"iptables": iptables, "nftables": nftables, "firewalld": firewalld, "ufw": ufw, "commands": commands,
            "foreign_chains": foreign, "problems": reader.problems}
