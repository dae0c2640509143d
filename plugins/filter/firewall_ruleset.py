# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter firewall_ruleset: a plan -> a backend's ruleset file (docs in firewall_ruleset.yml)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.firewalld import render as firewalld
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.iptables import render as iptables
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.nftables import render as nftables

PARTS = {
    ("iptables", "ipv4"): lambda plan: iptables.ruleset_file(plan, "ipv4"),
    ("iptables", "ipv6"): lambda plan: iptables.ruleset_file(plan, "ipv6"),
    ("iptables", "ipsets"): iptables.ipsets_file,
    ("nftables", "ruleset"): nftables.ruleset_file,
    ("firewalld", "ruleset"): nftables.ruleset_file,
    ("firewalld", "objects"): firewalld.objects_file,
}


def firewall_ruleset(plan, backend, part):
    if not isinstance(plan, dict) or "rules" not in plan:
        raise AnsibleFilterError("firewall_ruleset: expects a plan made by microseg.cluster_firewall.whitelist_plan")
    if (backend, part) not in PARTS:
        raise AnsibleFilterError("firewall_ruleset: %r, %r is not allowed; allowed: %s"
                                 % (backend, part, ", ".join("%s %s" % key for key in sorted(PARTS))))
    try:
        return PARTS[(backend, part)](plan)
    except ValueError as error:          # a plan this backend cannot express (e.g. a set name)
        raise AnsibleFilterError("firewall_ruleset(%r, %r): %s" % (backend, part, error))


class FilterModule(object):
    def filters(self):
        return {"firewall_ruleset": firewall_ruleset}
