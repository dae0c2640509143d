# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The CNI plug-ins' table (detect/cnis/, docs/architecture.md "The CNI plug-ins"): every plug-in
has the one shape, the config's kind comes from their CONFIG_TYPES, and derive() goes over the
table in its order. A toy CNI run through gather(): gather/test_gather_cni_plugins.py."""
from __future__ import annotations

import inspect
import types

import pytest

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.detect import cni_derive, cnis

SHAPE = {"NAME": str, "CONFIG_TYPES": tuple, "READ_BEFORE_CONFIG": bool}
FUNCTIONS = {"read": ["context"], "kind": ["config_name", "facts"], "derive": ["found", "kind", "facts"]}
FACT_KEYS_OF_THE_ROLES = ["flannel", "calico", "cilium", "antrea"]   # roles, planner and tests read these


@pytest.mark.parametrize("plugin", cnis.CNIS, ids=lambda plugin: plugin.__name__.rsplit(".", 1)[-1])
def test_every_plugin_has_the_shape(plugin):
    for name, kind in SHAPE.items():
        assert isinstance(getattr(plugin, name), kind), name
    for name, arguments in FUNCTIONS.items():
        parameters = list(inspect.signature(getattr(plugin, name)).parameters)
        assert len(parameters) == len(arguments), (name, parameters)
    assert plugin.__name__.rsplit(".", 1)[-1] == plugin.NAME        # one module per CNI, named after it


def test_the_table_names_each_cni_and_config_type_once():
    names = [plugin.NAME for plugin in cnis.CNIS]
    assert len(set(names)) == len(names)
    assert [name for name in names if name in FACT_KEYS_OF_THE_ROLES] == FACT_KEYS_OF_THE_ROLES
    config_types = [kind for plugin in cnis.CNIS for kind in plugin.CONFIG_TYPES]
    assert len(set(config_types)) == len(config_types)
    assert names.index("flannel") < names.index("calico")         # flannel's facts tell canal


def test_canal_is_calico_on_flannel():
    assert cnis.kind_of("10-canal.conflist", "calico", {"flannel": {"present": False}}) == "canal"
    assert cnis.kind_of("10-calico.conflist", "calico", {"flannel": {"present": True}}) == "canal"
    assert cnis.kind_of("10-calico.conflist", "calico", {}) == "calico"
    assert cnis.kind_of("10-weave.conflist", "weave-net", {}) == "weave"
    assert cnis.kind_of("10-x.conf", "bridge", {}) == "other"


def test_derive_loops_over_the_table_in_its_order(monkeypatch):
    seen = []

    def plugin(name):
        return types.SimpleNamespace(NAME=name, derive=lambda found, kind, facts: seen.append((name, kind, facts)))
    monkeypatch.setattr(cnis, "CNIS", (plugin("b"), plugin("a")))
    assert cni_derive.derive({"kind": "a"}, {"a": {"x": 1}})["features"] == []
    assert seen == [("b", "a", None), ("a", "a", {"x": 1})]
