# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cilium: cilium-agent's options (its flags and its config map directory, read through the
process's root: the agent runs in a container) and its devices, parsed by detect.cilium; for the
plan, what they say, or Cilium's default when only its CNI config is there."""

from __future__ import annotations

import os

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect import cilium as detect_cilium
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect.kube_flags import flags_from_args

NAME = "cilium"
CONFIG_TYPES = ("cilium-cni",)
READ_BEFORE_CONFIG = False
DEFAULT_FEATURES = ("cilium_vxlan", "cilium_health")
DEFAULT_NOTE = ("cilium: its CNI config is there but cilium-agent was not seen running; planned as Cilium's "
                "default (vxlan). Set microseg_features for geneve, wireguard or hubble.")


def read(context):
    return detect_cilium.cilium_facts(read_options(context.reader, context.processes), context.links)


def read_options(reader, processes):
    """cilium-agent's options (detect.cilium.options), {} when it does not run."""
    for pid, argv in processes:
        if os.path.basename(argv[0]) != "cilium-agent":
            continue
        flags = flags_from_args(argv[1:])
        config_map = {}
        directory = flags.pop("--config-dir", "")
        if directory:
            root = os.path.join(reader.proc, str(pid), "root") + directory
            for name in reader.list_dir(root):
                if not name.startswith("."):
                    text = reader.read_text(os.path.join(root, name))
                    if text is not None:
                        config_map[name] = text
        return detect_cilium.options(flags, config_map)
    return {}


def kind(_config_name, _facts):
    return NAME


def derive(found, kind, cilium):
    if cilium and cilium["present"]:
        found.add_facts(cilium)
    elif kind == NAME:
        found.features.update(DEFAULT_FEATURES)
        found.notes.append(DEFAULT_NOTE)
