# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's proof execution environment (ee/) installs what the controller side is tested with:
the pins of requirements-dev.txt. (Not in the collection's tarball: ee/ is not either.)"""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def pins(path):
    return dict(line.split("==", 1) for line in (ROOT / path).read_text().splitlines()
                if line.strip() and not line.startswith("#"))


def test_the_ee_pins_are_requirements_dev_pins():
    ee, dev = pins("ee/requirements.txt"), pins("requirements-dev.txt")
    assert {"ansible-core", "ansible-runner", "netaddr", "jmespath"} <= set(ee)
    assert dict((name, dev[name]) for name in ee) == ee
