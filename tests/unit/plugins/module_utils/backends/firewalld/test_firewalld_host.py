# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""FirewalldChange on firewalld's nftables backend: our files against the permanent configuration,
and firewalld's runtime view of our policy and ipsets against it (a reload nobody did is done)."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.nftables import render as nftables
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.nftables import host as nftables_host
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.base import BackendError
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.firewalld.host import (
    RELOAD_NOTE,
    FirewalldBackend,
    FirewalldChange,
)
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.nftables.host import (
    REMOVE,
    NftablesChange,
    NftablesHost,
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


# ---------------------------------------------------------------- the revert (issue 34, 3)

class Kernel(object):
    """nft as the module's run_command sees it: our table is whatever was loaded last."""

    def __init__(self, table):
        self.table, self.loads = table, []

    def get_bin_path(self, name):
        return "/usr/sbin/" + name

    def run_command(self, argv, data=None, binary_data=False, environ_update=None):
        if argv[1:3] == ["list", "table"]:
            return (0, self.table, "") if self.table else (1, "", "Error: No such file or directory")
        if argv[1:] == ["-f", "-"]:
            self.loads.append(data)
            self.table = nftables.table_body(data)
        return 0, "", ""


class StoppedOrRefusing(Host):
    """firewalld as the revert may find it: stopped, holding runtime-only changes, or refusing
    our files at --check-config."""

    def __init__(self, fault, config_dir):
        Host.__init__(self, {POLICY_FILE: "<policy new/>\n"}, [OURS], [OURS], ["microseg-self-v4"], listings={
            ("--list-all-zones",): "public\n  services: ssh http\n" if fault == "runtime-only" else "",
            ("--permanent", "--list-all-zones"): "public\n  services: ssh\n" if fault == "runtime-only" else ""})
        self.fault, self.config_dir, self.cmd, self.written = fault, config_dir, "/usr/bin/firewall-cmd", []
        self.runner = self

    def running(self):
        return self.fault != "stopped"

    def write(self, files, remove):
        self.written.append((dict(files), list(remove)))

    def output(self, argv):
        return (1, "", "INVALID_POLICY: bad") if self.fault == "check-config" else (0, "", "")


@pytest.mark.parametrize("fault", ["stopped", "runtime-only", "check-config"])
def test_a_failing_firewalld_revert_still_puts_our_table_back_first(tmp_path, monkeypatch, fault):
    monkeypatch.setattr(nftables_host, "LOADED", str(tmp_path / "loaded.nft"))
    old = "table inet microseg {\n\tchain input {\n\t\tcounter accept\n\t}\n}\n"
    cutting = "table inet microseg {\n\tchain input {\n\t\tcounter drop\n\t}\n}\n"
    kernel = Kernel(old)
    backend = FirewalldBackend(kernel, {"ruleset": {"microseg.nft": REMOVE + cutting}}, {})
    firewalld_host = StoppedOrRefusing(fault, str(tmp_path))
    backend.firewalld_host = lambda: firewalld_host
    table = NftablesChange(NftablesHost(backend.runner), REMOVE + cutting, remove=False)
    change = SimpleNamespace(parts=[SimpleNamespace(live=dict(FILES)), SimpleNamespace(runtime=([], []), file_text=None),
                                    table])
    revert = backend.revert(change)
    table.apply()
    assert "drop" in kernel.table
    with pytest.raises(BackendError) as raised:
        revert()
    assert kernel.loads[-1] == REMOVE + old and "drop" not in kernel.table        # our table is back
    message = str(raised.value)
    assert "our firewalld policy and ipsets" in message and "replace table inet microseg" in message
    assert raised.value.details["actions"] == ["replace table inet microseg"]
