# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The policy defaults live in three places a user reads; they must agree."""
from __future__ import annotations

from pathlib import Path

import yaml

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.gather.firewall import BACKEND_COMMANDS
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.inputs import DEFAULT_POLICY

ROLE = Path(__file__).resolve().parents[2] / "roles" / "whitelist"


def test_role_defaults_match_the_planner_defaults():
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    for key, value in DEFAULT_POLICY.items():
        assert defaults["microseg_" + key] == value, key


def test_argument_specs_document_every_default_with_the_same_value():
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    specs = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    for entry_point in ("main", "plan"):
        options = specs[entry_point]["options"]
        for name, value in defaults.items():
            assert name in options, (entry_point, name)
            assert options[name].get("default") == value, (entry_point, name)
        for name, option in options.items():
            assert option.get("description"), name


def test_the_feature_choices_are_the_catalogs():
    from ansible_collections.microseg.cluster_firewall.plugins.module_utils.catalog import FEATURES
    for role in ("facts", "whitelist"):
        specs = yaml.safe_load((ROLE.parent / role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
        assert specs["main"]["options"]["microseg_features"]["choices"] == list(FEATURES), role


def test_the_firewall_facts_list_every_command_the_role_checks_for():
    """The role takes a backend command the facts do not list as missing (and installs its package
    on every run): each one a backend's spec names (its packages) must be one the facts look for."""
    from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.registry import SPECS
    commands = dict((name, set(spec.packages)) for name, spec in SPECS.items())
    assert all(commands.values()), commands
    missing = dict((name, sorted(found - set(BACKEND_COMMANDS))) for name, found in commands.items() if found - set(BACKEND_COMMANDS))
    assert not missing, "add them to gather/firewall.py's BACKEND_COMMANDS: %s" % missing
