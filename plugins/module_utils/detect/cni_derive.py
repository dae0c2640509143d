# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a node's CNIs add up to for the plan: each plug-in of detect.cnis's table, in turn,
adds its catalog features, ports with their origins, pod CIDRs and notes to one Derived."""

from __future__ import annotations

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect import cnis


class Derived(object):
    """What the CNIs of a node add up to: catalog features, ports with their origins, pod CIDRs
    (the first origin named), notes. Each plug-in's derive() adds to one."""

    def __init__(self):
        self.features, self.ports, self.origins, self.pod_cidrs, self.notes = set(), {}, {}, [], []
        self.pod_cidr_origin = None

    def port(self, key, value, origin):
        self.ports[key] = value
        self.origins[key] = origin

    def pod_cidr(self, cidr, origin):
        if cidr and cidr not in self.pod_cidrs:
            self.pod_cidrs.append(cidr)
            self.pod_cidr_origin = self.pod_cidr_origin or origin

    def add_facts(self, facts):
        """Facts already in the planner's terms (the Cilium and Antrea plug-ins'): features,
        ports, port_origins, notes, and pod_cidrs with their pod_cidr_origin when given."""
        self.features.update(facts["features"])
        self.ports.update(facts["ports"])
        self.origins.update(facts["port_origins"])
        self.notes.extend(facts["notes"])
        for cidr in facts.get("pod_cidrs") or []:
            self.pod_cidr(cidr, facts.get("pod_cidr_origin"))

    def add_agent_facts(self, facts, configured, default_features, default_note):
        """A CNI whose agent gives its facts in the planner's terms (Cilium, Antrea): those facts
        when the agent was seen (facts["present"]); else, when the node's CNI config is that CNI
        (configured), its default features and the note that says the agent was not seen."""
        if facts and facts["present"]:
            self.add_facts(facts)
        elif configured:
            self.features.update(default_features)
            self.notes.append(default_note)

    def result(self):
        return {"features": sorted(self.features), "ports": self.ports, "port_origins": self.origins,
                "pod_cidrs": self.pod_cidrs, "pod_cidr_origin": self.pod_cidr_origin, "notes": self.notes}


def derive(cni, facts):
    """cni: the CNI config's facts (its kind); facts: each plug-in's facts by its NAME (a plug-in
    missing from it derives from None) -> catalog features, real ports with origins, pod CIDRs,
    notes."""
    found = Derived()
    kind = cni.get("kind")
    for plugin in cnis.CNIS:
        plugin.derive(found, kind, facts.get(plugin.NAME))
    return found.result()
