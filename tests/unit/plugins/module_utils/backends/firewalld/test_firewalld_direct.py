# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""firewalld on its iptables backend: our firewalld objects as direct rules, and our lines of
direct.xml among the user's."""
from __future__ import annotations

from xml.etree import ElementTree

import pytest

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.firewalld import render as firewalld
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.firewalld import direct as firewalld_direct
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.base import BackendError
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.firewalld.host import DirectChange
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.plan import compile_plan

INVENTORY = {"hosts": {"cp1": {"addresses": ["10.89.0.11", "fd00::11"]}, "w1": {"addresses": ["10.89.0.21"]}},
             "groups": {"kube_control_plane": ["cp1"], "kube_node": ["w1"]}}


def objects(policy):
    return firewalld.objects(compile_plan({"name": "cp1", "features": ["flannel_vxlan"]}, INVENTORY, policy))


def test_the_direct_rules_open_what_the_policy_opens_by_family_set_and_port():
    chains, rules = firewalld_direct.direct_config(objects({"mode": "host", "whitelist": [{"port": "8000-8010"},
                                                                                          {"proto": "ipip"}]}))
    assert ("ipv4", "MSEG-INPUT") in chains and ("ipv6", "MSEG-INPUT") in chains
    assert ("ipv4", "INPUT", -1000, "-m comment --comment microseg.cluster_firewall -j MSEG-INPUT") in rules
    top = [args for ipv, chain, _priority, args in rules if ipv == "ipv4" and chain == "MSEG-INPUT"]
    assert "-p tcp -m tcp --dport 6443 -j ACCEPT" in top                     # from any
    assert "-p tcp -m tcp --dport 8000:8010 -j ACCEPT" in top                # a range in iptables' spelling
    assert "-p 4 -j ACCEPT" in top                          # IP-in-IP by number, from any as the user listed it
    etcd = [args for args in top if "--dport 2379:2380" in args]
    assert len(etcd) == 1 and etcd[0].startswith("-p tcp -m tcp --dport 2379:2380 -j MSEG-")
    peers = etcd[0].split("-j ")[1]
    assert ("ipv4", peers, 0, "-s 10.89.0.11/32 -j ACCEPT") in rules       # the control plane's set
    assert ("ipv6", peers) not in chains                                    # the v4 set's chain is v4 only
    v6 = [args for ipv, chain, _priority, args in rules if ipv == "ipv6" and chain == "MSEG-INPUT"]
    assert any("--dport 2379:2380 -j MSEG-" in args for args in v6)
    assert "-p udp -m udp --dport 546 -s fe80::/10 -j ACCEPT" in v6          # DHCPv6 replies, by source address
    assert any("-p ipv6-icmp" in args for args in v6) and not any("icmpv6" in args for args in top)
    # one priority for all (they only accept): a change of the plan touches only the rules that differ
    assert set(priority for _ipv, chain, priority, _args in rules if chain != "INPUT") == {0}
    more = firewalld_direct.direct_config(objects({"mode": "host", "whitelist": [{"port": 7000}, {"port": "8000-8010"},
                                                                                 {"proto": "ipip"}]}))[1]
    assert set(more) - set(rules) == {("ipv4", "MSEG-INPUT", 0, "-p tcp -m tcp --dport 7000 -j ACCEPT"),
                                      ("ipv6", "MSEG-INPUT", 0, "-p tcp -m tcp --dport 7000 -j ACCEPT")}
    assert set(rules) <= set(more)
    assert all(firewalld_direct.is_our_rule(chain, args) for _ipv, chain, _priority, args in rules)
    assert all(len(chain) <= 28 for _ipv, chain in chains)                 # iptables' chain name limit


def test_a_destination_set_is_a_second_chain_and_no_policy_is_no_rule():
    files = objects({"mode": "host"})
    files[firewalld.POLICY_FILE] = files[firewalld.POLICY_FILE].replace(
        '<source ipset="microseg-control-plane-v4"/>',
        '<source ipset="microseg-control-plane-v4"/>\n    <destination ipset="microseg-cluster-nodes-v4"/>', 1)
    chains, rules = firewalld_direct.direct_config(files)
    both = [args for _ipv, chain, _priority, args in rules if args.startswith("-s 10.89.0.11/32 -j MSEG-")]
    target = both[0].split("-j ")[1]
    assert [args for _ipv, chain, _priority, args in rules if chain == target] == [
        "-d 10.89.0.11/32 -j ACCEPT", "-d 10.89.0.21/32 -j ACCEPT"]
    assert firewalld_direct.direct_config({}) == ([], [])
    with pytest.raises(ValueError, match="not well-formed"):
        firewalld_direct.direct_config({firewalld.POLICY_FILE: "<policy"})


def test_listings_keep_only_ours_and_name_what_runs_ahead():
    listing = ("ipv4 filter INPUT -1000 -m comment --comment microseg.cluster_firewall -j MSEG-INPUT\n"
               "ipv4 filter MSEG-INPUT 0 -p tcp -m tcp --dport 6443 -j ACCEPT\n"
               "ipv4 filter INPUT -2000 -s 10.0.0.0/8 -j DROP\n"
               "ipv4 nat POSTROUTING 0 -j MASQUERADE\n"
               "ipv6 filter INPUT 0 -p tcp --dport 22 -j ACCEPT\n")
    assert firewalld_direct.parse_rules(listing) == [
        ("ipv4", "INPUT", -1000, "-m comment --comment microseg.cluster_firewall -j MSEG-INPUT"),
        ("ipv4", "MSEG-INPUT", 0, "-p tcp -m tcp --dport 6443 -j ACCEPT")]
    assert len(firewalld_direct.parse_rules(listing, ours=False)) == 4
    ahead = firewalld_direct.rules_ahead(listing)
    assert len(ahead) == 1 and "-2000" in ahead[0] and "10.0.0.0/8" in ahead[0]
    assert firewalld_direct.parse_chains("ipv4 filter MSEG-INPUT\nipv4 filter mine\nipv6 mangle MSEG-X\n") == [
        ("ipv4", "MSEG-INPUT")]


USER_FILE = """<?xml version="1.0" encoding="utf-8"?>
<direct>
  <rule priority="0" table="filter" ipv="ipv4" chain="INPUT">-p tcp --dport 2222 -j ACCEPT</rule>
</direct>
"""


def test_our_lines_of_direct_xml_go_in_and_out_leaving_the_users_exactly():
    chains, rules = firewalld_direct.direct_config(objects({"mode": "host"}))
    merged = firewalld_direct.merged_file(USER_FILE, chains, rules)
    assert merged.startswith(USER_FILE.rsplit("</direct>", 1)[0]) and merged.endswith("</direct>\n")
    assert firewalld_direct.file_entries(merged) == (chains, rules)
    assert firewalld_direct.file_entries(USER_FILE) == ([], [])
    assert firewalld_direct.merged_file(merged, chains, rules) == merged              # idempotent
    assert firewalld_direct.merged_file(merged, [], []) == USER_FILE                  # removal: the user's file
    # firewalld rewrote the file in its own layout (the user changed a direct rule): still ours
    rewritten = "\n".join(line.replace(' table="filter"', "") + ("" if "<rule" not in line else "")
                          for line in merged.splitlines() if "<!--" not in line) + "\n"
    assert firewalld_direct.file_entries(rewritten) == (chains, rules)
    assert firewalld_direct.merged_file(rewritten, [], []) == USER_FILE.replace(' table="filter"', "")


def test_a_direct_xml_we_created_is_removed_and_a_bare_one_is_refused():
    chains, rules = firewalld_direct.direct_config(objects({"mode": "host"}))
    created = firewalld_direct.merged_file(None, chains, rules)
    assert firewalld_direct.BEGIN_CREATED in created.splitlines()
    assert firewalld_direct.merged_file(created, [], []) is None
    assert "<direct>" in firewalld_direct.merged_file('<?xml version="1.0"?>\n<direct/>\n', chains, rules)
    with pytest.raises(ValueError, match="no <direct> element"):
        firewalld_direct.merged_file("<other/>\n", chains, rules)


# ---------------------------------------------------------------- direct.xml as XML (issue 34, 8)

ONE_LINE = ('<?xml version="1.0" encoding="utf-8"?><direct><rule priority="0" table="filter" ipv="ipv4" '
            'chain="INPUT">-p tcp --dport 2222 -j ACCEPT</rule><passthrough ipv="ipv4">-t nat -A POSTROUTING '
            '-o eth1 -j MASQUERADE</passthrough><!-- the user\'s note --></direct>')


def users(text):
    """The user's elements of a direct.xml, as firewalld reads them."""
    root = firewalld_direct.parse_file(text)
    return [(element.tag, sorted(element.attrib.items()), element.text) for element in root
            if element.tag is not ElementTree.Comment and not firewalld_direct.is_our_element(element)]


def test_a_direct_xml_on_one_line_takes_our_rules_and_gives_them_back_keeping_the_users():
    chains, rules = firewalld_direct.direct_config(objects({"mode": "host"}))
    merged = firewalld_direct.merged_file(ONE_LINE, chains, rules)
    assert firewalld_direct.file_entries(merged) == (chains, rules)
    assert users(merged) == users(ONE_LINE) and len(users(ONE_LINE)) == 2
    assert "<!-- the user's note -->" in merged
    assert firewalld_direct.merged_file(merged, chains, rules) == merged              # idempotent
    removed = firewalld_direct.merged_file(merged, [], [])
    assert firewalld_direct.file_entries(removed) == ([], []) and users(removed) == users(ONE_LINE)
    # ours on the same line as the user's (written by hand so): found, and replaced
    crammed = merged.replace("\n", "")
    assert firewalld_direct.file_entries(crammed) == (chains, rules)
    again = firewalld_direct.merged_file(crammed, chains[:1], [])
    assert firewalld_direct.file_entries(again) == (chains[:1], []) and users(again) == users(ONE_LINE)
    assert firewalld_direct.merged_file("<direct></direct>", chains, rules).count("</direct>") == 1


@pytest.mark.parametrize("text, fragment", [
    ("<direct><rule ipv='ipv4' table='filter' chain='INPUT' priority='0'>-j ACCEPT</direct>", "not well-formed XML"),
    ("<?xml version='1.0'?>\n<direct>\n", "not well-formed XML"),
    ("<other/>\n", "no <direct> element"),
])
def test_a_malformed_direct_xml_is_refused_naming_the_file(text, fragment):
    with pytest.raises(ValueError, match=fragment) as raised:
        firewalld_direct.merged_file(text, [("ipv4", "MSEG-INPUT")], [])
    assert "/etc/firewalld/direct.xml" in str(raised.value)
    with pytest.raises(ValueError, match=fragment):
        firewalld_direct.file_entries(text)


class DirectHost(object):
    """What DirectChange asks of FirewalldHost: firewalld on its iptables backend, no direct rule yet."""

    def __init__(self, config_dir):
        self.config_dir, self.ran = str(config_dir), []

    def running(self):
        return True

    def backend(self):
        return "iptables"

    def run(self, *args):
        self.ran.append(args)
        return ""


def test_direct_change_on_a_one_line_file_and_on_a_malformed_one(tmp_path):
    desired = firewalld_direct.direct_config(objects({"mode": "host"}))
    (tmp_path / "direct.xml").write_text(ONE_LINE)
    host = DirectHost(tmp_path)
    change = DirectChange(host, desired, remove=False)
    assert change.changed and change.new_text is not None
    change.apply()
    written = (tmp_path / "direct.xml").read_text()
    assert firewalld_direct.file_entries(written) == tuple(desired) and users(written) == users(ONE_LINE)
    assert any(args[:2] == ("--direct", "--add-rule") for args in host.ran)
    # malformed: refused when the change is computed (check mode too), before any command or write
    (tmp_path / "direct.xml").write_text(ONE_LINE.replace("</rule>", "", 1))
    host = DirectHost(tmp_path)
    with pytest.raises(BackendError, match="direct.xml is not well-formed XML"):
        DirectChange(host, desired, remove=False)
    assert host.ran == [] and (tmp_path / "direct.xml").read_text() == ONE_LINE.replace("</rule>", "", 1)
