# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The boot unit brings our rules back before the cluster components start (the restore itself
is exercised on lab nodes in tests/integration/test_site_lab.py)."""
from __future__ import annotations

from pathlib import Path

UNIT = Path(__file__).resolve().parents[2] / "roles" / "whitelist" / "templates" / "microseg-firewall.service.j2"


def directive(name):
    return [line.split("=", 1)[1].split() for line in UNIT.read_text().splitlines() if line.startswith(name + "=")]


def test_the_restore_runs_before_kubelet_the_container_runtimes_and_the_network():
    before = directive("Before")[0]
    for unit in ("network-pre.target", "kubelet.service", "containerd.service", "docker.service",
                 "k3s.service", "rke2-server.service"):
        assert unit in before, unit
    assert directive("DefaultDependencies") == [["no"]]        # not held back behind basic.target
    assert directive("Type") == [["oneshot"]]
