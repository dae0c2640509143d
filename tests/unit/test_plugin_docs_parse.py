# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every plugin's documentation is valid YAML (ansible-doc refuses the plugin otherwise): the
filters' adjacent .yml files and the modules' DOCUMENTATION, EXAMPLES and RETURN strings. A
colon followed by a space inside a plain description line is the usual break. The lab's
ansible-doc test says the same minutes later; this says it in the unit loop."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
FILTER_DOCS = sorted((ROOT / "plugins" / "filter").glob("*.yml"))
MODULES = sorted((ROOT / "plugins" / "modules").glob("*.py"))


@pytest.mark.parametrize("path", FILTER_DOCS, ids=lambda path: path.name)
def test_a_filters_documentation_is_yaml(path):
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict) and "DOCUMENTATION" in data, path


def module_strings(path):
    tree = ast.parse(path.read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            if node.targets[0].id in ("DOCUMENTATION", "EXAMPLES", "RETURN") and isinstance(node.value, ast.Constant):
                yield node.targets[0].id, node.value.value


@pytest.mark.parametrize("path", MODULES, ids=lambda path: path.name)
def test_a_modules_documentation_is_yaml(path):
    found = dict(module_strings(path))
    assert "DOCUMENTATION" in found, path
    for name, text in found.items():
        yaml.safe_load(text)           # raises, naming the line, when it is not


def test_the_check_sees_a_broken_description():
    # the negative control: the break e56ef35 made ("(those files: PyYAML ...)" in a plain line)
    with pytest.raises(yaml.YAMLError):
        yaml.safe_load("DOCUMENTATION:\n  description:\n    - a list\n      that goes on (those files: here)\n")
