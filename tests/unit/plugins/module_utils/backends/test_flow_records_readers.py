# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""flow_records on the node (backends/observe_host.py): each backend that keeps records reads its
own (its package's records_host.py) and clears them on reset, in check mode not; the listings are
test_flow_records_sets' (nft 1.0.6 and ipset 7.17 on the lab kernel)."""
from __future__ import annotations

import json

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends import observe_host

from test_flow_records_sets import IPSET_SAVE, NFT_FIRST, NFT_OBSERVED

CHAIN = json.dumps({"nftables": [{"rule": {"comment": "microseg: kubelet", "expr": [{"counter": {"packets": 4, "bytes": 240}}]}},
                                 {"rule": {"comment": "microseg: kubelet", "expr": [{"counter": {"packets": 1, "bytes": 60}}]}}]})
SAVE = ":MICROSEG-INPUT - [0:0]\n[5:300] -A MICROSEG-INPUT -p tcp -m tcp --dport 10250 -m comment " \
       "--comment \"microseg: kubelet\" -j ACCEPT\n"


class Module(object):
    """A node with our table (nft) or our chain and sets (iptables-legacy), and `ip`."""

    def __init__(self, backend, check_mode=False):
        self.backend, self.check_mode, self.commands = backend, check_mode, []

    def get_bin_path(self, name, required=False):
        tools = {"nftables": ("nft", "ip"), "iptables": ("iptables", "iptables-legacy-save", "ip6tables-legacy-save", "ipset", "ip")}[self.backend]
        return "/usr/sbin/" + name if name in tools else None

    def run_command(self, argv, data=None, binary_data=False, environ_update=None):
        self.commands.append(argv[1:])
        if argv[0].endswith("ip6tables-legacy-save"):
            return 0, ":MICROSEG-INPUT - [0:0]\n", ""
        answers = {("-j", "list", "chain", "inet", "microseg", "input"): CHAIN,
                   ("-j", "list", "set", "inet", "microseg", "observed_v4"): NFT_OBSERVED,
                   ("-j", "list", "set", "inet", "microseg", "first_seen_v4"): NFT_FIRST,
                   ("-c", "-t", "filter"): SAVE, ("save", "mseg-obs-first-v4"): IPSET_SAVE,
                   ("save", "mseg-obs-last-v4"): "", ("--version",): "iptables v1.8.9 (legacy)\n",
                   ("-o", "address", "show"): "2: eth0    inet 10.89.0.11/24 brd 10.89.0.255 scope global eth0\n"}
        if argv[1:3] == ["flush", "set"] or argv[1:2] == ["flush"] or tuple(argv[1:]) in answers or argv[1:] == []:
            return 0, answers.get(tuple(argv[1:]), ""), ""
        return 1, "", "Error: No such file or directory"


def test_the_nftables_backends_records_are_read_and_cleared_by_its_reader():
    module = Module("nftables")
    result = observe_host.gather(module, reset=True)
    assert result["backend"] == "nftables" and result["records"] and result["changed"]
    assert result["rule_hits"] == [{"rule": "microseg: kubelet", "packets": 5, "bytes": 300}]
    assert result["addresses"] == ["10.89.0.11"]
    assert ["flush", "set", "inet", "microseg", "observed_v4"] in module.commands


def test_the_iptables_backends_records_are_read_and_check_mode_clears_nothing():
    module = Module("iptables", check_mode=True)
    result = observe_host.gather(module, reset=True)
    assert result["backend"] == "iptables" and result["records"] and result["changed"]
    assert result["rule_hits"] == [{"rule": "microseg: kubelet", "packets": 5, "bytes": 300}]
    assert not [command for command in module.commands if command[:1] == ["flush"]]
