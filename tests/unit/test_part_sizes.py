# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Small parts (STYLE.md, docs/architecture.md): no function or method under plugins/ longer than
60 lines, no file of plugins/module_utils longer than 450 lines. A part that grows past either is
split where it does two things; the test names the part and its size."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = ROOT / "plugins"
MAX_FUNCTION_LINES = 60
MAX_MODULE_UTILS_LINES = 450


def long_functions(path):
    """(name, lines) of each function or method in the file at `path` over the limit."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [(node.name, node.end_lineno - node.lineno + 1) for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]


def test_no_function_is_over_60_lines():
    found = ["%s: %s() %d lines" % (path.relative_to(ROOT), name, lines)
             for path in sorted(PLUGINS.rglob("*.py")) for name, lines in long_functions(path)]
    assert not found, "over %d lines, split them: %s" % (MAX_FUNCTION_LINES, found)


def test_no_module_utils_file_is_over_450_lines():
    found = ["%s: %d lines" % (path.relative_to(ROOT), len(path.read_text(encoding="utf-8").splitlines()))
             for path in sorted((PLUGINS / "module_utils").rglob("*.py"))
             if len(path.read_text(encoding="utf-8").splitlines()) > MAX_MODULE_UTILS_LINES]
    assert not found, "over %d lines, split them: %s" % (MAX_MODULE_UTILS_LINES, found)


def test_the_checks_see_a_long_function(tmp_path):
    # the negative control: a 61-line function is reported, a 60-line one is not
    body = "".join("    x%d = %d\n" % (i, i) for i in range(59))
    sample = tmp_path / "sample.py"
    sample.write_text("def long():\n" + body + "    return 0\n\n\ndef short():\n" + body + "\n")
    assert long_functions(sample) == [("long", 61)]
