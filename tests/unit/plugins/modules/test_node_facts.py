# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""node_facts gathers Ansible's own facts through ansible-core's fact collector, the way the setup
module does. That API is not a published one: this test fails when an ansible-core release changes
it, before a node does."""
from __future__ import annotations

from ansible_collections.microseg.cluster_firewall.plugins.modules import node_facts


class NoCommands(object):
    """The env subset reads os.environ only; any command it would run is a test failure."""

    def get_bin_path(self, *args, **kwargs):
        raise AssertionError("the env subset ran a command")

    run_command = get_bin_path


def test_only_the_asked_subsets_are_collected_and_named_as_setup_names_them():
    facts = node_facts.ansible_facts_of(NoCommands(), ["env"])
    assert "ansible_env" in facts and "PATH" in facts["ansible_env"]
    assert not [key for key in facts if not key.startswith("ansible_")]
    assert not set(node_facts.GATHERING_FACTS) & set(facts)
    assert "ansible_default_ipv4" not in facts and "ansible_distribution" not in facts      # no minimal set
