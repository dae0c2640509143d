# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""backends/registry.py is the one list of backends: the node halves (backends/hosts.py), every
static choices list (YAML cannot ask the registry), the specs' shape and the choice of auto all
agree with it."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends import hosts, registry
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.spec import Spec

ROOT = Path(__file__).resolve().parents[5]


def _module_doc(path):
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "DOCUMENTATION":
            return yaml.safe_load(node.value.value)
    raise AssertionError("no DOCUMENTATION in %s" % path)


def static_choices():
    """(where, the choices listed there, what the registry gives there) for every static list of
    backend names."""
    found = []
    for path in sorted(ROOT.glob("roles/*/meta/argument_specs.yml")):
        for entry, spec in yaml.safe_load(path.read_text())["argument_specs"].items():
            option = spec.get("options", {}).get("microseg_backend")
            if option:
                found.append(("%s %s microseg_backend" % (path.relative_to(ROOT), entry), option["choices"],
                              ["auto"] + list(registry.NAMES)))
    found.append(("plugins/modules/host_firewall.py backend",
                  _module_doc(ROOT / "plugins" / "modules" / "host_firewall.py")["options"]["backend"]["choices"],
                  list(registry.NAMES)))
    for path in sorted((ROOT / "plugins" / "filter").glob("*.yml")):
        # a filter's backend option lists no choices (it checks the name against the registry): one
        # list fewer to keep; should one list them, they are checked too
        for option_name, option in yaml.safe_load(path.read_text())["DOCUMENTATION"].get("options", {}).items():
            if "firewalld" in (option.get("choices") or []):
                found.append(("%s %s" % (path.relative_to(ROOT), option_name), option["choices"], list(registry.NAMES)))
    return found


def test_every_static_choices_list_is_the_registrys():
    found = static_choices()
    assert len(found) >= 2, found
    wrong = ["%s: %s, the registry gives %s" % (where, listed, wanted) for where, listed, wanted in found
             if listed != wanted]
    assert not wrong, "\n".join(wrong)


def test_the_default_backend_is_the_registrys_everywhere_it_is_written():
    """The module's documented default, and the steady state's (applied.py: shared, it may not
    import the backends), are the registry's DEFAULT."""
    from ansible_collections.microseg.cluster_firewall.plugins.module_utils import applied
    doc = _module_doc(ROOT / "plugins" / "modules" / "host_firewall.py")
    assert doc["options"]["backend"]["default"] == registry.DEFAULT
    assert dict(applied.REQUEST_DEFAULTS)["backend"] == registry.DEFAULT


def test_the_choices_check_sees_a_backend_missing_from_a_list(monkeypatch):
    # the negative control: a backend registered but not listed in the YAML is named
    monkeypatch.setattr(registry, "NAMES", registry.NAMES + ("unlisted-backend",))
    assert all("unlisted-backend" in wanted and "unlisted-backend" not in listed
               for _where, listed, wanted in static_choices())


def test_every_registered_backend_has_its_node_half_and_no_other():
    assert sorted(hosts.BACKENDS) == list(registry.NAMES), "backends/hosts.py must import each backend's host.py"
    for name, backend in hosts.BACKENDS.items():
        assert backend.spec is registry.SPECS[name], name


@pytest.mark.parametrize("name", registry.NAMES)
def test_a_spec_is_whole(name):
    spec = registry.SPECS[name]
    assert isinstance(spec, Spec) and spec.name == name
    assert spec.files and set(spec.kept) <= set(spec.files)
    assert spec.packages and all(isinstance(rank, int) and callable(chosen) for rank, chosen in spec.choices)
    assert spec.blockers({}) == [] and spec.removes


def test_a_ruleset_key_the_backend_does_not_name_is_refused_naming_the_allowed_ones():
    spec = registry.spec_of("nftables")
    assert spec.ruleset({"microseg.nft": "x"}) == {"microseg.nft": "x"}
    assert registry.spec_of("iptables").ruleset({}) == {"ipsets": "", "ipv4.rules": "", "ipv6.rules": ""}
    with pytest.raises(ValueError, match=r"ruleset: 'ipv4.rules' is not a file of the nftables backend; "
                                         r"allowed: microseg.nft"):
        spec.ruleset({"ipv4.rules": "x"})
    with pytest.raises(ValueError, match="must be text"):
        spec.ruleset({"microseg.nft": ["x"]})
    with pytest.raises(ValueError, match="backend 'ufw' is not known; allowed: firewalld, iptables, nftables"):
        registry.spec_of("ufw")


@pytest.mark.parametrize("facts, mode, docker, wanted", [
    (None, None, None, ("iptables", "no firewall facts: the default")),
    ({"firewalld": {"active": True}, "iptables": {"present": True, "legacy_rules": 9}}, None, None,
     ("firewalld", "firewalld is running (its nftables backend)")),
    ({"iptables": {"present": True, "nft_rules": 3}, "nftables": {"present": True}}, "nftables", None,
     ("iptables", "iptables already holds 3 rules (kube-proxy, Docker, CNI)")),
    ({"iptables": {"present": True}, "nftables": {"present": True}}, "nftables", None,
     ("nftables", "kube-proxy runs in nftables mode")),
    ({"iptables": {"present": True}, "nftables": {"present": True}}, None, "nftables",
     ("nftables", "Docker runs its nftables firewall backend")),
    ({"iptables": {"present": False}, "nftables": {"present": True}}, None, None,
     ("nftables", "nft is there, iptables is not")),
    ({"iptables": {"present": True}, "nftables": {"present": True}}, None, None,
     ("iptables", "iptables is there and holds no rules yet")),
    ({"nftables": {"present": False}}, None, None, ("iptables", "neither holds rules")),
])
def test_auto_chooses_as_before(facts, mode, docker, wanted):
    """The decisions and reasons profile.choose_backend gave when it held them itself."""
    assert registry.choose(facts, mode, docker) == wanted


def test_the_notes_on_the_nodes_own_firewall_come_in_the_registrys_order():
    facts = {"firewalld": {"active": True, "backend": "iptables"}, "ufw": {"active": True}}
    found = registry.notes("n1", facts)
    assert len(found) == 2 and found[0].startswith("n1: firewalld runs its iptables backend")
    assert found[1].startswith("n1: ufw is active: with the iptables backend our jump goes ahead")
    assert registry.notes("n1", {}) == [] and registry.notes("n1", None) == []
