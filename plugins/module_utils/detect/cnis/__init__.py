# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The CNIs detection knows, one plug-in module each, in one ordered table (CNIS). A plug-in
holds:

- NAME: its key in the facts (gather.cni's result: `flannel`, `calico`...) and its kind;
- CONFIG_TYPES: the first plugin `type`s of a CNI config file that name it (the config the
  container runtime uses decides the node's kind);
- READ_BEFORE_CONFIG: True when kind() of another plug-in needs its facts (flannel: a Calico
  config over flannel is canal), so it is read before the CNI config;
- read(context) -> its facts (a dict), or None for a CNI the node shows only by its config
  (Weave): no facts key then. context: Context below; the plug-in reads the node only through
  context.reader (node/node_reader.py's NodeReader, passed in: detect/ never imports node/);
- kind(config_name, facts) -> the kind of a config file of one of its CONFIG_TYPES (facts: every
  plug-in's facts read so far, by NAME);
- derive(found, kind, facts): what it adds for the plan (catalog features, ports with their
  origins, pod CIDRs, notes) to found (cni_derive.Derived); kind: the CNI config's kind; facts:
  its own facts (None when read gave none).

gather.cni.gather() reads them in table order and cni_derive.derive() derives them in table
order (ports a later one gives win; the first pod CIDR origin is kept). Adding a CNI is its
module here and a row in CNIS, with its features' and ports' rows in catalog.py."""

from __future__ import annotations

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect.cnis import antrea
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect.cnis import calico
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect.cnis import cilium
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect.cnis import flannel
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect.cnis import weave

CNIS = (flannel, calico, cilium, antrea, weave)


class Context(object):
    """What a plug-in's read() is given: reader (a NodeReader), the fact module's params, the
    node's processes [(pid, argv)], its devices (detect.cni.parse_links), the kubernetes facts
    (detect.kubernetes: the supervisor's flannel backend...), and unread: the list a YAML file
    not read for want of PyYAML is added to."""

    def __init__(self, reader, params, processes, links, kubernetes, unread):
        self.reader, self.params, self.processes, self.links = reader, params, processes, links
        self.kubernetes, self.unread = kubernetes, unread


def kind_of(config_name, first_type, facts):
    """The kind of the CNI config file config_name whose first plugin is first_type: the kind() of
    the plug-in whose CONFIG_TYPES hold it, else "other"."""
    for cni in CNIS:
        if first_type in cni.CONFIG_TYPES:
            return cni.kind(config_name, facts)
    return "other"
