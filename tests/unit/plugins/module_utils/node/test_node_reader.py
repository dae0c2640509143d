# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading a node: a command two fact gatherers need runs once per module run, and each gatherer
still names the problems it met."""
from __future__ import annotations

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.node.node_reader import NodeReader


class FakeModule(object):
    def __init__(self, rc=0):
        self.rc, self.calls, self.warnings = rc, [], []

    def get_bin_path(self, name):
        return None if name == "missing" else "/usr/sbin/" + name

    def run_command(self, argv, **_kwargs):
        self.calls.append(argv)
        return self.rc, "table ip filter\n", "" if self.rc == 0 else "permission denied"

    def warn(self, text):
        self.warnings.append(text)


def test_readers_of_one_run_share_a_command_output():
    module, outputs = FakeModule(), {}
    first, second = NodeReader(module, outputs=outputs), NodeReader(module, outputs=outputs)
    assert first.run("nft", ["list", "tables"], "nft tables") == "table ip filter\n"
    assert second.run("nft", ["list", "tables"], "nft tables") == "table ip filter\n"
    assert module.calls == [["/usr/sbin/nft", "list", "tables"]]
    NodeReader(module).run("nft", ["list", "tables"], "nft tables")      # not shared: runs again
    assert len(module.calls) == 2


def test_each_reader_names_the_problem_of_a_shared_failed_command():
    module, outputs = FakeModule(rc=1), {}
    first, second = NodeReader(module, outputs=outputs), NodeReader(module, outputs=outputs)
    assert first.run("nft", ["list", "tables"], "nft tables") is None
    assert second.run("nft", ["list", "tables"], "nft tables") is None
    assert len(module.calls) == 1
    assert first.problems == second.problems == ["nft list tables failed (rc=1): nft tables not read: permission denied"]
    assert NodeReader(module).run("missing", [], "x") is None
