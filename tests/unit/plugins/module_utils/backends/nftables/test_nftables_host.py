# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""NftablesHost keeps the ruleset file it loaded; a revert loads that file again, as rendered,
when the live table is still what it loaded (issue 34, 1), and the listing otherwise."""
from __future__ import annotations

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.nftables import render as nftables
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.nftables import host as nftables_host
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.nftables.host import (
    REMOVE,
    NftablesBackend,
    NftablesChange,
    NftablesHost,
)
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.plan import compile_plan

INVENTORY = {"hosts": {"cp1": {"addresses": ["10.89.0.11"]}, "w1": {"addresses": ["10.89.0.21"]}},
             "groups": {"kube_control_plane": ["cp1"], "kube_node": ["w1"]}}


def ruleset(**policy):
    return nftables.ruleset_file(compile_plan({"name": "cp1", "features": []}, INVENTORY, dict(mode="host", **policy)))


class Kernel(object):
    """nft as a module's run_command sees it: `nft -f -` loads our table, `nft list table` lists
    it back - here as loaded, or as a listing given by the test."""

    def __init__(self):
        self.table, self.listing, self.loads = None, None, []

    def get_bin_path(self, name):
        return "/usr/sbin/" + name

    def run_command(self, argv, data=None, binary_data=False, environ_update=None):
        if argv[1:3] == ["list", "table"]:
            if self.table is None:
                return 1, "", "Error: No such file or directory"
            return 0, self.listing or self.table, ""
        if argv[1:] == ["-f", "-"]:
            self.loads.append(data)
            self.table, self.listing = nftables.table_body(data), None
        return 0, "", ""


def test_the_revert_loads_the_ruleset_we_loaded_not_the_listing(tmp_path, monkeypatch):
    monkeypatch.setattr(nftables_host, "LOADED", str(tmp_path / "loaded.nft"))
    kernel = Kernel()
    new = ruleset(state="block", whitelist=[{"port": 8080}])
    backend = NftablesBackend(kernel, {"ruleset": {"microseg.nft": new}}, {})
    old = ruleset(state="block")
    host = NftablesHost(backend.runner)
    NftablesChange(host, old, remove=False).apply()
    assert (tmp_path / "loaded.nft").read_text() == old
    # nft prints the table its own way (here: whitespace); it is still the table we loaded
    kernel.listing = kernel.table.replace("\t", "  ")
    change = backend.change(False)()
    assert change.changed and change.previous == old
    revert = backend.revert(change)
    change.apply()
    assert (tmp_path / "loaded.nft").read_text() == new
    kernel.listing = kernel.table.replace("\t", "  ")
    assert revert() == ["replace table inet microseg"]
    assert kernel.loads[-1] == old and (tmp_path / "loaded.nft").read_text() == old
    kernel.listing = kernel.table.replace("10.89.0.21", "10.89.0.99")      # someone else's table now
    assert NftablesChange(host, backend.files["microseg.nft"], remove=False).previous == REMOVE + kernel.listing


def test_without_our_copy_the_revert_takes_the_listing_and_without_a_table_removes(tmp_path):
    kernel = Kernel()
    backend = NftablesBackend(kernel, {"ruleset": {"microseg.nft": ruleset(state="block")}}, {})
    host = NftablesHost(backend.runner, str(tmp_path / "loaded.nft"))
    assert NftablesChange(host, ruleset(state="block"), remove=False).previous == ""
    kernel.table = nftables.table_body(ruleset(state="monitor"))
    assert NftablesChange(host, ruleset(state="block"), remove=False).previous == REMOVE + kernel.table
    NftablesChange(host, ruleset(state="alert"), remove=False).apply()
    assert (tmp_path / "loaded.nft").exists()
    # removing the table removes our copy: a later revert never loads a table that is gone
    NftablesChange(host, "", remove=True).apply()
    assert kernel.loads[-1] == REMOVE and not (tmp_path / "loaded.nft").exists()
