# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The README's catalog table is generated from the catalog; keep them equal."""
from __future__ import annotations

from pathlib import Path

from ansible_collections.microseg.cluster_firewall.plugins.module_utils import catalog
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.report import catalog_markdown

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_catalog_table_matches_the_catalog():
    assert catalog_markdown(catalog.ENTRIES) in README.read_text()


def test_readme_documents_every_policy_variable():
    text = README.read_text()
    for name in ("state", "mode", "scope", "trusted_cidrs", "management_cidrs", "whitelist", "blacklist",
                 "nodeport", "apiserver_from", "features", "ports", "pod_cidrs", "roles", "node_addresses"):
        assert "`microseg_%s`" % name in text, name
