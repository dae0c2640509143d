# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Weave Net, known by its CNI config alone: nothing of it is read from the node (no facts
key); its catalog rows, and a note on encryption."""

from __future__ import annotations

NAME = "weave"
CONFIG_TYPES = ("weave-net",)
READ_BEFORE_CONFIG = False


def read(_context):
    return None


def kind(_config_name, _facts):
    return NAME


def derive(found, kind, _facts):
    if kind == NAME:
        found.features.add("weave")
        found.notes.append("weave: encryption is not read from the node; add weave_encrypted to microseg_features if used.")
