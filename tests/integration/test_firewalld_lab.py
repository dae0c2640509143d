# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The firewalld backend on a real firewalld: a lab node with systemd as PID 1, D-Bus and
Debian's firewalld (its nftables backend), driven by site.yml/verify.yml/remove.yml as a user
runs them. The node's interface is bound to firewalld's `drop` zone, so without our policy every
cluster flow is cut; the user's own firewalld rule opens 9999/tcp, which host/block mode must
still block (our table keeps the plan's semantics)."""
from __future__ import annotations

import json
import re
import time

import pytest
from conftest import lab_inventory, playbook, podman, reachable

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends import firewalld, nftables
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.nftables import normalise
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.plan import compile_plan

# firewalld's own configuration, as a user compares it before and after us. Its backups (*.old,
# the previous version of a file it rewrote) are left out: the test changes the user's zones
# itself on the way (the default zone); the files themselves are compared.
FIREWALLD_STATE = ("cd /etc/firewalld && find . -type f ! -name '*.old' | sort | xargs sha256sum; "
                   "firewall-cmd --permanent --list-all-zones; firewall-cmd --permanent --list-all-policies; "
                   "firewall-cmd --list-all-zones; firewall-cmd --list-all-policies; firewall-cmd --get-ipsets")


def wait_for_firewalld(node, timeout=90):
    deadline = time.time() + timeout
    while node.sh("firewall-cmd --state", check=False).stdout.strip() != "running":
        if time.time() > deadline:
            raise AssertionError("firewalld did not start on %s:\n%s" % (
                node.name, node.sh("systemctl status firewalld --no-pager", check=False).stdout))
        time.sleep(1)


def address(node):
    return node.sh("ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1").stdout.strip()


def wait_for_boot(node, timeout=90):
    """Until systemd has started the units (running, or degraded: the lab has units that fail)."""
    deadline = time.time() + timeout
    while node.sh("systemctl is-system-running", check=False).stdout.strip() not in ("running", "degraded"):
        if time.time() > deadline:
            raise AssertionError("%s did not finish booting" % node.name)
        time.sleep(1)


def reboot(node):
    """A container restart is a reboot: netfilter starts empty, systemd starts the units. Podman
    may give the node another address (the next site.yml run plans it). -> the address."""
    podman("restart", "-t", "5", node.name)
    wait_for_boot(node)
    return address(node)


def listen(node):
    node.sh("for port in 6443 9999; do setsid nc -l -k -p $port >/dev/null 2>&1 < /dev/null & done")


@pytest.fixture(scope="module")
def cluster(lab_nodes, systemd_image, tmp_path_factory):
    cp = lab_nodes("fwd-cp", image=systemd_image)
    worker = lab_nodes("fwd-w")
    wait_for_boot(cp)
    wait_for_firewalld(cp)
    # the interface in the drop zone; the user's own rule opens 9999 there (permanent, then live)
    cp.sh("firewall-cmd --permanent --zone=drop --add-interface=eth0 && "
          "firewall-cmd --permanent --zone=drop --add-port=9999/tcp && firewall-cmd --reload")
    listen(cp)
    ip = address(cp)
    inventory = lab_inventory(tmp_path_factory.mktemp("fwd") / "hosts.yml",
                              groups={"kube_control_plane": [cp], "kube_node": [worker]},
                              microseg_mode="host", microseg_state="block", microseg_features=["flannel_vxlan"])
    return cp, worker, ip, inventory


def matrix(worker, ip):
    return {"6443 (planned)": reachable(worker, ip, 6443), "9999 (not planned)": reachable(worker, ip, 9999)}


PLANNED = {"6443 (planned)": True, "9999 (not planned)": False}


def our_objects(node):
    """Our table (without its counters and flow records, which move) and firewalld's policies."""
    return (normalise(node.sh("nft list table inet microseg").stdout),
            node.sh("firewall-cmd --list-all-policies").stdout)


def test_firewalld_backend_applies_survives_reload_restart_reboot_and_removes_exactly(cluster):
    cp, worker, ip, inventory = cluster
    before = cp.sh(FIREWALLD_STATE).stdout
    # firewalld alone: the drop zone cuts the API server, the user's port is open
    assert matrix(worker, ip) == {"6443 (planned)": False, "9999 (not planned)": True}

    proc, recap = playbook("site.yml", inventory, "--check", "--diff")
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert "policies/microseg.xml" in proc.stdout and "+table inet microseg" in proc.stdout
    assert cp.sh(FIREWALLD_STATE).stdout == before                                  # check mode changed nothing

    proc, recap = playbook("site.yml", inventory)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert "create firewalld policies/microseg" in proc.stdout and "reload firewalld" in proc.stdout   # auto chose it
    assert matrix(worker, ip) == PLANNED
    policy = cp.sh("firewall-cmd --info-policy=microseg").stdout
    assert 'port port="6443" protocol="tcp" accept' in policy and "priority: -30000" in policy

    proc, recap = playbook("site.yml", inventory)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert all(counts["changed"] == 0 for counts in recap.values()), recap       # a second run changes nothing

    proc, recap = playbook("verify.yml", inventory)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert re.search(r"(\d+) flows, \1 as expected, 0 broken", proc.stdout), proc.stdout[-3000:]
    assert "blocked  blocked" in proc.stdout and "passes   passes" in proc.stdout

    applied = our_objects(cp)
    cp.sh("firewall-cmd --reload")
    assert matrix(worker, ip) == PLANNED, "after firewall-cmd --reload"
    cp.sh("systemctl restart firewalld")
    wait_for_firewalld(cp)
    assert matrix(worker, ip) == PLANNED, "after a firewalld restart"
    ip = reboot(cp)
    wait_for_firewalld(cp)
    listen(cp)
    assert matrix(worker, ip) == PLANNED, "after a reboot:\n" + cp.sh(
        "ip -4 -o addr; ss -ltn; systemctl status microseg-firewall --no-pager; nft list ruleset | head -80; "
        "firewall-cmd --list-all-policies; firewall-cmd --get-active-zones", check=False).stdout
    assert our_objects(cp) == applied                                   # no duplicate
    proc, recap = playbook("site.yml", inventory)                       # plans the node's new address, if any
    assert proc.returncode == 0, proc.stdout[-3000:]
    proc, recap = playbook("site.yml", inventory)
    assert proc.returncode == 0 and all(counts["changed"] == 0 for counts in recap.values()), proc.stdout[-3000:]
    assert matrix(worker, ip) == PLANNED

    # a non-default default zone (block: rejects what it does not allow) holding the interface
    # instead of the drop zone: our policy runs ahead of every zone, so nothing changes
    default_zone = cp.sh("firewall-cmd --get-default-zone").stdout.strip()
    cp.sh("firewall-cmd --set-default-zone=block && firewall-cmd --permanent --zone=drop --remove-interface=eth0 && "
          "firewall-cmd --reload")
    assert cp.sh("firewall-cmd --get-default-zone").stdout.strip() == "block"
    assert "eth0" not in cp.sh("firewall-cmd --zone=drop --list-interfaces").stdout      # the default zone has it
    assert matrix(worker, ip) == PLANNED, "with the default zone block"
    proc, recap = playbook("site.yml", inventory)
    assert proc.returncode == 0 and all(counts["changed"] == 0 for counts in recap.values()), proc.stdout[-3000:]
    cp.sh("firewall-cmd --set-default-zone=%s && firewall-cmd --permanent --zone=drop --add-interface=eth0 && "
          "firewall-cmd --reload" % default_zone)

    proc, recap = playbook("remove.yml", inventory)
    assert proc.returncode == 0 and recap[cp.name]["changed"] > 0, proc.stdout[-4000:]
    assert cp.sh(FIREWALLD_STATE).stdout == before                                  # firewalld's config exactly
    assert cp.sh("nft list table inet microseg", check=False).returncode != 0
    assert matrix(worker, ip) == {"6443 (planned)": False, "9999 (not planned)": True}
    proc, recap = playbook("remove.yml", inventory)
    assert all(counts["changed"] == 0 for counts in recap.values()), recap


def test_firewalld_runtime_changes_are_not_lost(cluster):
    """Our objects need a firewalld reload, which would lose a runtime-only change of the user's:
    the run is refused before anything changes, naming what to do."""
    cp, _worker, _ip, inventory = cluster
    cp.sh("firewall-cmd --zone=drop --add-port=7777/tcp")                # runtime only
    before = cp.sh(FIREWALLD_STATE).stdout
    proc, recap = playbook("site.yml", inventory)
    assert proc.returncode != 0 and recap[cp.name]["failed"] == 1
    assert "runtime-to-permanent" in proc.stdout and "7777/tcp" in proc.stdout, proc.stdout[-3000:]
    assert cp.sh(FIREWALLD_STATE).stdout == before
    assert cp.sh("nft list table inet microseg", check=False).returncode != 0
    cp.sh("firewall-cmd --reload")


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


def late_confirm(cp, ip):
    """Apply a plan admitting 7001/tcp with a 4 s confirm timeout, check it is live, confirm after
    10 s -> (rc, result of the confirm)."""
    plan = compile_plan({"name": "fwd-cp", "features": []}, {"hosts": {"fwd-cp": {"addresses": [ip]}}, "groups": {}},
                        {"mode": "service", "whitelist": [{"port": 7001}]})
    args = {"backend": "firewalld", "nft_ruleset": nftables.ruleset_file(plan),
            "firewalld_objects": firewalld.objects_file(plan), "confirm_timeout": 4, "auto_confirm": False}
    rc, applied = cp.run_module("host_firewall", json.dumps(args))
    assert rc == 0 and applied["confirm_token"], applied
    live = cp.sh("firewall-cmd --info-policy=microseg; firewall-cmd --direct --get-all-rules", check=False).stdout
    assert 'port port="7001" protocol="tcp" accept' in live or "--dport 7001 -j ACCEPT" in live, live
    cp.sh("sleep 10")
    return cp.run_module("host_firewall", json.dumps({"state": "confirm", "confirm_token": applied["confirm_token"]}))


def test_a_late_confirm_puts_firewalld_and_our_table_back_as_they_were(cluster):
    """Commit-confirm on the firewalld backend: the node's revert restores our firewalld objects
    (none here: they are removed, with a reload) and our table, by itself."""
    cp, _worker, _ip, _inventory = cluster
    before = cp.sh(FIREWALLD_STATE).stdout
    rc, late = late_confirm(cp, address(cp))
    assert rc != 0 and "put its previous rules back by itself" in late["msg"], late
    assert "remove firewalld policies/microseg" in late["rolled_back"], late
    assert cp.sh(FIREWALLD_STATE).stdout == before
    assert cp.sh("nft list table inet microseg", check=False).returncode != 0
