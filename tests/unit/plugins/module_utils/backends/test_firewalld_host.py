# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""FirewalldChange on firewalld's nftables backend: our files against the permanent configuration,
and firewalld's runtime view of our policy and ipsets against it (a reload nobody did is done)."""
from __future__ import annotations

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.firewalld_host import (
    RELOAD_NOTE,
    FirewalldChange,
)

POLICY_FILE = "policies/microseg.xml"
IPSET_FILE = "ipsets/microseg-self-v4.xml"
FILES = {POLICY_FILE: "<policy/>\n", IPSET_FILE: "<ipset/>\n"}
OURS = {"name": "microseg", "priority": -30000, "target": "CONTINUE", "ingress": ["ANY"], "egress": ["HOST"],
        "rules": ['rule family="ipv4" source ipset="microseg-self-v4" accept']}


class Host(object):
    """What FirewalldChange asks of FirewalldHost, answered from fields."""

    def __init__(self, files, runtime, permanent, ipsets, listings=None):
        self.files, self.runtime, self.permanent, self.live_ipsets = files, runtime, permanent, ipsets
        self.listings = listings or {}
        self.ran = []

    def running(self):
        return True

    def backend(self):
        return "nftables"

    def live_files(self):
        return dict(self.files)

    def policies(self):
        return self.runtime

    def permanent_policy(self, name):
        return ([policy for policy in self.permanent if policy["name"] == name] + [None])[0]

    def ipsets(self):
        return self.live_ipsets

    def run(self, *args):
        self.ran.append(args)
        return self.listings.get(args, "")


def test_nothing_to_do_when_files_runtime_and_permanent_agree():
    host = Host(FILES, [OURS], [OURS], ["microseg-self-v4"])
    change = FirewalldChange(host, dict(FILES), remove=False)
    assert not change.changed and not change.reload and change.actions == []
    assert host.ran == []                   # no listing, no firewall-cmd: the questions went to the host


def test_a_reload_nobody_did_is_done():
    # our files are firewalld's permanent configuration, but its runtime has not loaded them
    host = Host(FILES, [], [OURS], [])
    change = FirewalldChange(host, dict(FILES), remove=False)
    assert change.changed and change.reload and change.actions == [RELOAD_NOTE]
    # before a reload, the listings are compared: nothing of the user's would be lost here
    assert ("--list-all-zones",) in host.ran and ("--permanent", "--list-all-policies") in host.ran


def test_a_missing_runtime_ipset_or_a_drifted_policy_is_a_change():
    assert FirewalldChange(Host(FILES, [OURS], [OURS], []), dict(FILES), remove=False).reload
    drifted = dict(OURS, priority=-100)
    assert FirewalldChange(Host(FILES, [drifted], [OURS], ["microseg-self-v4"]), dict(FILES), remove=False).reload


def test_a_policy_ahead_of_ours_that_drops_is_reported():
    early = {"name": "early", "priority": -31000, "target": "DROP", "ingress": ["ANY"], "egress": ["HOST"], "rules": []}
    change = FirewalldChange(Host(FILES, [early, OURS], [OURS], ["microseg-self-v4"]), dict(FILES), remove=False)
    assert not change.changed
    assert [line for line in change.reported if line.startswith("firewalld policy early")]
