# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The firewalld renderer escapes XML with html.escape (xml.sax.saxutils imports urllib and ssl in
every process that renders): the files are the same as with saxutils for every value a plan can
hold, and every value reads back from the XML as it was."""
from __future__ import annotations

import subprocess
import sys
from xml.etree import ElementTree
from xml.sax import saxutils

import pytest

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.firewalld import render

# what a plan's values look like (names, numbers, ranges, addresses), and text with markup in it
PLAN_VALUES = ["", "ipv4", "microseg-cluster-nodes4", "tcp", "8472", "30000-32767", "fe80::/10", "ipv6-icmp",
               "a&b", "<rule/>", "x > y", "microseg: kubelet (tcp 10250) from the control plane"]
# any text with quotes in it (an inventory host name in a description, say); no tab or line break,
# which an attribute turns into a space (quoteattr says so)
ANY_TEXT = PLAN_VALUES + ['say "hi"', "it's", "both ' and \"", "&amp; already"]


@pytest.mark.parametrize("text", PLAN_VALUES)
def test_same_as_saxutils_for_a_plans_values(text):
    assert render.escape(text) == saxutils.escape(text)
    assert render.quoteattr(text) == saxutils.quoteattr(text)


@pytest.mark.parametrize("text", ANY_TEXT)
def test_any_text_reads_back_as_it_was(text):
    assert (ElementTree.fromstring("<a>%s</a>" % render.escape(text)).text or "") == text
    assert ElementTree.fromstring("<a v=%s/>" % render.quoteattr(text)).get("v") == text
    assert render.escape(text) == saxutils.escape(text)          # character data: always the same


def test_negative_control_an_unescaped_value_breaks_the_xml():
    with pytest.raises(ElementTree.ParseError):
        ElementTree.fromstring('<a v="%s"/>' % "both ' and \"")


def test_rendering_imports_no_urllib():
    code = ("import sys; import ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.firewalld.render; "
            "print(sorted(m for m in ('urllib.request', 'ssl', 'xml.sax.saxutils') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": ":".join(sys.path)})
    assert out.stdout.strip() == "[]"
