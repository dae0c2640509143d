# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The README and docs/ as a user reads them (these run from the tarball too: both ship)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from ansible_collections.microseg.cluster_firewall.plugins.module_utils import catalog
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.report import catalog_markdown

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
PAGES = [README] + sorted((ROOT / "docs").glob("*.md"))
# [text](target): a target without a scheme is a relative link
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def slug(heading):
    """The anchor GitHub (and Galaxy) gives a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path):
    text = re.sub(r"^```.*?^```", "", path.read_text(), flags=re.M | re.S)
    return set(slug(line.lstrip("#")) for line in text.splitlines() if re.match(r"#{1,6} ", line))


def relative_links(path):
    """(target file, anchor or None) of each relative link of a page, outside code blocks."""
    text = re.sub(r"^```.*?^```", "", path.read_text(), flags=re.M | re.S)
    for target in LINK.findall(text):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):
            continue
        name, _sep, anchor = target.partition("#")
        yield (path.parent / name).resolve() if name else path, anchor or None


def test_the_readme_is_short_enough_to_read_top_to_bottom():
    assert len(README.read_text().splitlines()) <= 300


@pytest.mark.parametrize("page", PAGES, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves(page):
    for target, anchor in relative_links(page):
        assert target.is_file(), "%s links to %s, which does not exist" % (page.name, target)
        if anchor:
            assert anchor in anchors(target), "%s links to %s#%s: no such heading" % (page.name, target.name, anchor)


def test_the_policy_page_catalog_table_matches_the_catalog():
    assert catalog_markdown(catalog.ENTRIES) in (ROOT / "docs" / "policy.md").read_text()


def test_the_readme_shows_the_variables_everyone_sets():
    text = README.read_text()
    for name in ("state", "mode", "scope", "management_cidrs", "whitelist", "blacklist", "pod_cidrs", "backend",
                 "confirm_timeout", "plan_dir"):
        assert "`microseg_%s`" % name in text, name


def test_the_variables_page_documents_every_policy_variable():
    text = (ROOT / "docs" / "variables.md").read_text()
    for name in ("state", "mode", "scope", "trusted_cidrs", "management_cidrs", "whitelist", "blacklist",
                 "nodeport", "apiserver_from", "features", "ports", "pod_cidrs", "roles", "node_addresses",
                 "observe_dir", "verify_timeout", "batch_size"):
        assert "`microseg_%s`" % name in text, name


def test_the_readme_runs_the_playbooks_by_their_fully_qualified_names():
    text = README.read_text()
    for name in ("plan", "audit", "site", "verify", "remove", "observe", "rollout"):
        assert "microseg.cluster_firewall.%s" % name in text, name
    assert "playbooks/" not in text.split("## Run it on your inventory", 1)[1].split("\n## ", 1)[0]
