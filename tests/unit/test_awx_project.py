# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""awx/project/: a user's AWX project, one wrapper per job template of awx/job-templates.yml, each
importing the collection's playbook of the same name. (Not in the collection's tarball: Galaxy's
import lint cannot resolve a playbook of a collection it has not installed; docs/awx.md shows them.)"""
from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "awx" / "project"
TEMPLATES = yaml.safe_load((ROOT / "awx" / "job-templates.yml").read_text())[0]["vars"]["microseg_awx_templates"]


def test_a_wrapper_per_job_template_imports_the_collections_playbook():
    assert sorted(path.name for path in PROJECT.glob("*.yml")) == sorted(template["playbook"] for template in TEMPLATES)
    for template in TEMPLATES:
        wrapper = yaml.safe_load((PROJECT / template["playbook"]).read_text())
        name = template["playbook"][:-len(".yml")]
        assert len(wrapper) == 1 and wrapper[0]["ansible.builtin.import_playbook"] == "microseg.cluster_firewall." + name
        assert (ROOT / "playbooks" / template["playbook"]).is_file()
