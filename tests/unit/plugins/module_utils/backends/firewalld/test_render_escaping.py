# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The firewalld renderer escapes XML itself (xml.sax.saxutils imports urllib and ssl in every
process that renders): the same text as xml.sax.saxutils, for every character that matters."""
from __future__ import annotations

import sys
import subprocess
from xml.sax import saxutils

import pytest

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.firewalld import render

SAMPLES = ["", "plain", "a&b", "<rule/>", "x > y", 'say "hi"', "it's", "both ' and \"", "tab\there",
           "two\nlines\r", "&amp; already", "10.0.0.0/8", "microseg: kubelet (tcp 10250) from the control plane"]


@pytest.mark.parametrize("text", SAMPLES)
def test_same_as_saxutils(text):
    assert render.escape(text) == saxutils.escape(text)
    assert render.quoteattr(text) == saxutils.quoteattr(text)


def test_negative_control_a_plain_wrapper_differs():
    assert saxutils.quoteattr('both \' and "') != '"%s"' % saxutils.escape('both \' and "')


def test_rendering_imports_no_urllib():
    code = ("import sys; import ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.firewalld.render; "
            "print(sorted(m for m in ('urllib.request', 'ssl', 'xml.sax.saxutils') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": ":".join(sys.path)})
    assert out.stdout.strip() == "[]"
