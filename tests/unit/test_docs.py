# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The docs against the repository: what ships (galaxy.yml's build_ignore), the generated variables
page, the version the README installs. Development only: the tarball has neither galaxy.yml nor
tools/, so galaxy.yml leaves this file out of it."""
from __future__ import annotations

import importlib.util
import re

import pytest
import yaml
from ansible.galaxy.collection import _build_files_manifest_walk

from test_readme import PAGES, ROOT, relative_links

GALAXY = yaml.safe_load((ROOT / "galaxy.yml").read_text())


def shipped():
    """The files `ansible-galaxy collection build` puts in the tarball (its own walk, with build_ignore)."""
    manifest = _build_files_manifest_walk(str(ROOT).encode(), GALAXY["namespace"], GALAXY["name"],
                                          GALAXY.get("build_ignore", []))
    return set(entry["name"] for entry in manifest["files"] if entry["ftype"] == "file")


def generator():
    spec = importlib.util.spec_from_file_location("variables_md", ROOT / "tools" / "variables_md.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("page", PAGES, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_the_docs_link_only_to_files_that_ship(page):
    files = shipped()
    assert page.relative_to(ROOT).as_posix() in files
    for target, _anchor in relative_links(page):
        name = target.relative_to(ROOT).as_posix()
        assert name in files, "%s links to %s, which the tarball does not carry (galaxy.yml build_ignore)" % (
            page.relative_to(ROOT), name)


def test_the_variables_page_is_generated_from_the_argument_specs():
    tool = generator()
    page = (ROOT / "docs" / "variables.md").read_text()
    assert page == tool.splice(page, tool.generate()), "run: python3 tools/variables_md.py"


def test_the_argument_spec_descriptions_are_one_short_line():
    """A failed validation prints the entry point's whole spec for every host: the long text is in
    docs/variables.md, the specs hold one line per option."""
    for role in ("facts", "whitelist"):
        specs = yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
        for entry_point, spec in specs.items():
            for name, option in spec.get("options", {}).items():
                for key, sub in [(name, option)] + list((option.get("options") or {}).items()):
                    assert isinstance(sub["description"], str) and len(sub["description"]) <= 120, (role, key)


def test_the_readme_installs_the_version_galaxy_yml_builds():
    versions = set(re.findall(r"microseg-cluster_firewall-([0-9][^\s/]*?)\.tar\.gz", (ROOT / "README.md").read_text()))
    assert versions == {GALAXY["version"]}
