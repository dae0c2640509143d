# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What runs on the nodes (modules and their module_utils) parses as the oldest Python the README
claims for nodes, and uses none of the newer standard-library names listed here."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NODE_FLOOR = (3, 8)          # README "Node requirements"; ansible-core 2.19's own floor for managed nodes
NODE_FILES = sorted(list((ROOT / "plugins" / "modules").glob("*.py")) + list((ROOT / "plugins" / "module_utils").rglob("*.py")))
# Python 3.9+ methods and modules: str.removeprefix/removesuffix, functools.cache, zoneinfo, graphlib, tomllib.
NEWER_NAMES = re.compile(r"\.removeprefix\(|\.removesuffix\(|functools\.cache\b|\bimport (zoneinfo|graphlib|tomllib)\b")


@pytest.mark.parametrize("path", NODE_FILES, ids=lambda path: str(path.relative_to(ROOT)))
def test_node_code_parses_as_the_oldest_node_python(path):
    source = path.read_text()
    ast.parse(source, filename=str(path), feature_version=NODE_FLOOR)
    assert not NEWER_NAMES.search(source), NEWER_NAMES.search(source).group(0)


def test_the_readme_states_the_same_floor():
    assert "Python %d.%d or later" % NODE_FLOOR in (ROOT / "README.md").read_text()
