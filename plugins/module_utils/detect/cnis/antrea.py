# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Antrea: antrea-agent's and antrea-controller's configs (--config, read through the process's
root) and Open vSwitch's devices, parsed by detect.antrea; for the plan, what they say, or
Antrea's default when only its CNI config is there."""

from __future__ import annotations

import os

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect import antrea as detect_antrea
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect import yaml_text
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect.kube_flags import flags_from_args

NAME = "antrea"
CONFIG_TYPES = ("antrea",)
READ_BEFORE_CONFIG = False
DEFAULT_FEATURES = ("antrea", "antrea_geneve", "antrea_egress")
DEFAULT_NOTE = ("antrea: its CNI config is there but antrea-agent was not seen running; planned as Antrea's "
                "default (geneve). Set microseg_features for another tunnel or encryption.")
PROGRAMS = {"antrea-agent": detect_antrea.AGENT_CONFIG, "antrea-controller": detect_antrea.CONTROLLER_CONFIG}


def read(context):
    reader, configs = context.reader, {}
    for pid, argv in context.processes:
        name = os.path.basename(argv[0])
        default = PROGRAMS.get(name)
        if default is None or name in configs:
            continue
        path = flags_from_args(argv[1:]).get("--config") or default
        text = reader.read_text(os.path.join(reader.proc, str(pid), "root") + path)
        if text is None:
            reader.problem("process %s (%s): its config %s cannot be read through the process; planned with "
                           "Antrea's defaults" % (pid, name, path))
        where = "process %s (%s) %s" % (pid, name, path)
        config, reason = yaml_text.load(text or "")
        if reason == yaml_text.MISSING:
            context.unread.append(where)
        elif reason is not None:
            reader.problem("%s: %s; planned with Antrea's defaults" % (where, reason))
        configs[name] = (yaml_text.dotted_scalars(config), where)
    agent, controller = configs.get("antrea-agent"), configs.get("antrea-controller")
    return detect_antrea.antrea_facts(agent[0] if agent else None, controller[0] if controller else None,
                                      context.links, agent[1] if agent else "antrea-agent.conf",
                                      controller[1] if controller else "antrea-controller.conf")


def kind(_config_name, _facts):
    return NAME


def derive(found, kind, antrea):
    if antrea and antrea["present"]:
        found.add_facts(antrea)
    elif kind == NAME:
        found.features.update(DEFAULT_FEATURES)
        found.notes.append(DEFAULT_NOTE)
