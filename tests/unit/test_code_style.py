# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The style checks galaxy-importer (make galaxy) and ansible-test's pep8 apply to plugins/, run in
the inner loop: a line break before a binary operator (W503) or a misaligned continuation line
(E127, E128) fails here in seconds instead of at the end of make test."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def flake8(*paths):
    return subprocess.run([sys.executable, "-m", "flake8", "--max-line-length", "160", "--select", "W503,E127,E128,F401,F841"]
                          + [str(path) for path in paths], capture_output=True, text=True, check=False)


def test_plugins_pass_galaxy_importers_style_checks():
    proc = flake8(ROOT / "plugins")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_tests_keep_ansible_tests_line_length():
    # ansible-test's pep8 reads tests/ too, with a limit of 160 characters a line
    proc = subprocess.run([sys.executable, "-m", "flake8", "--max-line-length", "160", "--select", "E501",
                           str(ROOT / "tests")], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_check_sees_a_line_break_before_an_operator(tmp_path):
    # the negative control
    sample = tmp_path / "sample.py"
    sample.write_text("total = (1\n         + 2)\n")
    assert "W503" in flake8(sample).stdout
