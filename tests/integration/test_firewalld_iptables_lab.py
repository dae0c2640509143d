# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The firewalld backend on a real firewalld running its iptables backend (FirewallBackend=iptables):
our openings are direct rules added without a reload, a neighbour's chain survives our runs, and a
user's direct.xml (one line, or malformed) is merged or refused before anything changes. The node
and its drop zone are test_firewalld_lab.py's `cluster`, brought up again for this file: a file
per pytest-xdist worker (make lab), so the two halves of the firewalld tests run side by side."""
from __future__ import annotations

import re

import pytest
from conftest import playbook
from test_firewalld_lab import (
    FIREWALLD_STATE,
    PLANNED,
    address,
    firewalld_cluster,
    late_confirm,
    listen,
    matrix,
    reboot,
    wait_for_firewalld,
)


@pytest.fixture(scope="module")
def cluster(lab_nodes, systemd_image, tmp_path_factory):
    return firewalld_cluster(lab_nodes, systemd_image, tmp_path_factory)


# firewalld's runtime direct rules and iptables' filter table, besides its configuration
DIRECT_STATE = FIREWALLD_STATE + "; firewall-cmd --direct --get-all-chains; firewall-cmd --direct --get-all-rules"
# a neighbour's rule as kube-proxy puts it: its own chain, jumped to from the top of INPUT
NEIGHBOUR = "iptables -N KUBE-FIREWALL && iptables -I INPUT -m comment --comment kube-test -j KUBE-FIREWALL"


def neighbour_there(node):
    return "kube-test" in node.sh("iptables -S INPUT").stdout


def test_on_firewalld_iptables_backend_direct_rules_open_the_plan_without_a_reload(cluster):
    """firewalld on its iptables backend: a reload flushes every iptables table, so our openings
    are direct rules added without one. The neighbour's chain survives our runs; firewalld's own
    reload, restart and a reboot keep our rules; removal restores firewalld's configuration."""
    cp, worker, ip, inventory = cluster
    cp.sh("sed -i 's/^FirewallBackend=.*/FirewallBackend=iptables/' /etc/firewalld/firewalld.conf && "
          "systemctl restart firewalld")
    wait_for_firewalld(cp)
    try:
        assert "INPUT_direct" in cp.sh("iptables -S INPUT").stdout          # firewalld's rules are iptables now
        cp.sh(NEIGHBOUR)
        before = cp.sh(DIRECT_STATE).stdout
        ip = address(cp)                                  # an earlier test's reboot may have changed it
        assert matrix(worker, ip) == {"6443 (planned)": False, "9999 (not planned)": True}

        proc, recap = playbook("site.yml", inventory)
        assert proc.returncode == 0, proc.stdout[-4000:]
        assert "firewalld direct rules" in proc.stdout and "reload firewalld" not in proc.stdout, proc.stdout[-4000:]
        assert "FirewallBackend=nftables" in proc.stdout                     # the plan says what a reload does
        assert neighbour_there(cp), "our run flushed the neighbour's rules"
        assert matrix(worker, ip) == PLANNED
        direct = cp.sh("firewall-cmd --direct --get-all-rules").stdout
        assert "-p tcp -m tcp --dport 6443 -j ACCEPT" in direct and "--dport 9999" not in direct

        proc, recap = playbook("site.yml", inventory)
        assert proc.returncode == 0 and all(counts["changed"] == 0 for counts in recap.values()), proc.stdout[-3000:]
        proc, recap = playbook("verify.yml", inventory)
        assert proc.returncode == 0, proc.stdout[-4000:]
        assert re.search(r"(\d+) flows, \1 as expected, 0 broken", proc.stdout), proc.stdout[-3000:]

        # a change of the plan (9999 admitted, then not again) adds and removes only what differs
        rules = cp.sh("firewall-cmd --direct --get-all-rules").stdout
        proc, recap = playbook("site.yml", inventory, "-e", '{"microseg_whitelist": [{"port": 9999}]}')
        assert proc.returncode == 0 and "2 rules added, 0 chains and 0 rules removed" in proc.stdout, proc.stdout[-3000:]
        assert matrix(worker, ip) == {"6443 (planned)": True, "9999 (not planned)": True}
        proc, recap = playbook("site.yml", inventory)
        assert proc.returncode == 0 and "0 rules added, 0 chains and 2 rules removed" in proc.stdout, proc.stdout[-3000:]
        assert matrix(worker, ip) == PLANNED and cp.sh("firewall-cmd --direct --get-all-rules").stdout == rules

        # how many rules of ours are live (iptables' filter table, our nft table): never duplicated
        ours = "iptables-save -t filter | grep -c MSEG; ip6tables-save -t filter | grep -c MSEG; " \
               "nft list table inet microseg | grep -c ."
        applied = cp.sh(ours).stdout
        cp.sh("firewall-cmd --reload")
        assert not neighbour_there(cp)                                       # firewalld's reload flushed it, not us
        assert matrix(worker, ip) == PLANNED, "after firewall-cmd --reload"
        assert cp.sh(ours).stdout == applied
        cp.sh("systemctl restart firewalld")
        wait_for_firewalld(cp)
        assert matrix(worker, ip) == PLANNED, "after a firewalld restart"
        assert cp.sh(ours).stdout == applied
        ip = reboot(cp)
        wait_for_firewalld(cp)
        listen(cp)
        assert matrix(worker, ip) == PLANNED, "after a reboot:\n" + cp.sh(
            "iptables -S; firewall-cmd --direct --get-all-rules", check=False).stdout
        assert cp.sh(ours).stdout == applied
        proc, recap = playbook("site.yml", inventory)                       # plans the node's new address, if any
        assert proc.returncode == 0, proc.stdout[-3000:]
        proc, recap = playbook("site.yml", inventory)
        assert proc.returncode == 0 and all(counts["changed"] == 0 for counts in recap.values()), proc.stdout[-3000:]
        assert matrix(worker, ip) == PLANNED

        cp.sh(NEIGHBOUR)
        proc, recap = playbook("remove.yml", inventory)
        assert proc.returncode == 0 and recap[cp.name]["changed"] > 0, proc.stdout[-4000:]
        assert cp.sh(DIRECT_STATE).stdout == before                          # firewalld's configuration exactly
        assert neighbour_there(cp) and cp.sh("nft list table inet microseg", check=False).returncode != 0
        assert matrix(worker, ip) == {"6443 (planned)": False, "9999 (not planned)": True}

        # commit-confirm: a confirm that comes too late -> the node takes our direct rules out again
        rc, late = late_confirm(cp, ip)
        assert rc != 0 and "put its previous rules back by itself" in late["msg"], late
        assert any(line.startswith("firewalld direct rules") for line in late["rolled_back"]), late
        assert cp.sh(DIRECT_STATE).stdout == before
    finally:
        cp.sh("sed -i 's/^FirewallBackend=.*/FirewallBackend=nftables/' /etc/firewalld/firewalld.conf && "
              "systemctl restart firewalld")
        wait_for_firewalld(cp)


# A user's own direct rule and chain in a direct.xml written on one line, as a tool or a hand may
# write it (issue 34, item 8: the apply used to raise ValueError on it, after arming the revert)
USER_DIRECT = ('<?xml version="1.0" encoding="utf-8"?><direct><chain ipv="ipv4" table="filter" chain="USER-CHAIN"/>'
               '<rule ipv="ipv4" table="filter" chain="INPUT" priority="0">-p tcp --dport 7071 -m comment --comment '
               'user-direct -j ACCEPT</rule></direct>\n')
# the same, cut short: not well-formed XML
MALFORMED_DIRECT = USER_DIRECT.replace("</rule></direct>", "</direct>")
DIRECT_FILE = "/etc/firewalld/direct.xml"


def user_direct_live(node):
    """Whether firewalld runs the user's direct rule and chain (its runtime listing)."""
    return ("ipv4 filter INPUT 0 -p tcp --dport 7071 -m comment --comment user-direct -j ACCEPT"
            in node.sh("firewall-cmd --direct --get-all-rules").stdout
            and "ipv4 filter USER-CHAIN" in node.sh("firewall-cmd --direct --get-all-chains").stdout)


def user_direct_kept(node):
    """Whether direct.xml is well-formed and still holds the user's rule and chain, as elements."""
    return node.sh("python3 - <<'EOF'\nimport sys, xml.etree.ElementTree as ET\nroot = ET.parse('%s').getroot()\n"
                   "rules = [r.text for r in root.findall('rule') if r.get('chain') == 'INPUT']\n"
                   "chains = [c.get('chain') for c in root.findall('chain')]\n"
                   "sys.exit(0 if '-p tcp --dport 7071 -m comment --comment user-direct -j ACCEPT' in rules "
                   "and 'USER-CHAIN' in chains else 1)\nEOF" % DIRECT_FILE, check=False).returncode == 0


def test_a_one_line_direct_xml_is_merged_kept_and_a_malformed_one_refused_on_firewalld_iptables(cluster):
    """firewalld on its iptables backend, where our openings are direct rules kept in direct.xml
    (issue 34, item 8): a malformed file fails the run (check mode too) before anything changes,
    naming the file; a one-line file with the user's rule is merged, the user's rule stays live and
    in the file through site.yml, a second run, firewalld's reload and remove.yml."""
    cp, worker, _ip, inventory = cluster
    cp.sh("sed -i 's/^FirewallBackend=.*/FirewallBackend=iptables/' /etc/firewalld/firewalld.conf && "
          "systemctl restart firewalld")
    wait_for_firewalld(cp)
    try:
        ip = address(cp)                                 # an earlier test's reboot may have changed it
        cp.write(DIRECT_FILE, MALFORMED_DIRECT)
        nothing = DIRECT_STATE + "; iptables-save | grep -v '^#' | sed 's/\\[[0-9]*:[0-9]*\\]//'; nft list tables"
        before = cp.sh(nothing).stdout
        for check in (["--check"], []):
            proc, recap = playbook("site.yml", inventory, *check)
            assert proc.returncode != 0 and recap[cp.name]["failed"] == 1, proc.stdout[-3000:]
            assert DIRECT_FILE in proc.stdout and "not well-formed XML" in proc.stdout, proc.stdout[-3000:]
            assert "Traceback" not in proc.stdout + proc.stderr, proc.stdout[-3000:]
            assert cp.sh(nothing).stdout == before, check                        # nothing changed, nothing armed
            assert cp.sh("test -e /run/microseg/pending.json", check=False).returncode != 0
            assert cp.sh("cat %s" % DIRECT_FILE).stdout == MALFORMED_DIRECT

        cp.write(DIRECT_FILE, USER_DIRECT)
        cp.sh("firewall-cmd --reload")
        assert user_direct_live(cp)                      # firewalld reads the one-line file itself
        assert matrix(worker, ip) == {"6443 (planned)": False, "9999 (not planned)": True}

        proc, recap = playbook("site.yml", inventory)
        assert proc.returncode == 0, proc.stdout[-4000:]
        assert "firewalld direct rules" in proc.stdout and "Traceback" not in proc.stdout, proc.stdout[-4000:]
        assert matrix(worker, ip) == PLANNED
        assert user_direct_live(cp) and user_direct_kept(cp), cp.sh("cat " + DIRECT_FILE).stdout
        assert "MSEG-INPUT" in cp.sh("cat " + DIRECT_FILE).stdout                # ours merged into the file

        proc, recap = playbook("site.yml", inventory)
        assert proc.returncode == 0 and all(counts["changed"] == 0 for counts in recap.values()), proc.stdout[-3000:]
        cp.sh("firewall-cmd --reload")                   # firewalld reads the merged file back: both are there
        assert user_direct_live(cp) and matrix(worker, ip) == PLANNED

        proc, recap = playbook("remove.yml", inventory)
        assert proc.returncode == 0 and recap[cp.name]["changed"] > 0, proc.stdout[-4000:]
        assert user_direct_live(cp) and user_direct_kept(cp), cp.sh("cat " + DIRECT_FILE).stdout
        assert "MSEG" not in cp.sh("cat %s; firewall-cmd --direct --get-all-rules" % DIRECT_FILE).stdout
        assert matrix(worker, ip) == {"6443 (planned)": False, "9999 (not planned)": True}
        cp.sh("firewall-cmd --reload")
        assert user_direct_live(cp)
    finally:
        cp.sh("rm -f %s && sed -i 's/^FirewallBackend=.*/FirewallBackend=nftables/' /etc/firewalld/firewalld.conf && "
              "systemctl restart firewalld" % DIRECT_FILE)
        wait_for_firewalld(cp)
