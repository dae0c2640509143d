# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The firewalld backend on a real firewalld: a lab node with systemd as PID 1, D-Bus and
Debian's firewalld (its nftables backend), driven by site.yml/verify.yml/remove.yml as a user
runs them. The node's interface is bound to firewalld's `drop` zone, so without our policy every
cluster flow is cut; the user's own firewalld rule opens 9999/tcp, which host/block mode must
still block (our table keeps the plan's semantics)."""
from __future__ import annotations

import ipaddress
import json
import re
import sys
import time

import pytest
import yaml
from conftest import lab_inventory, playbook, podman, reachable, sh

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.firewalld import render as firewalld
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.nftables import render as nftables
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.nftables.render import normalise
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
    return firewalld_cluster(lab_nodes, systemd_image, tmp_path_factory)


def firewalld_cluster(lab_nodes, systemd_image, tmp_path_factory):
    """A control plane on firewalld (systemd image), its interface in the drop zone with the
    user's own 9999/tcp open, and a worker; -> (cp, worker, cp's address, inventory)."""
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


def late_confirm(cp, ip):
    """Apply a plan admitting 7001/tcp with a 4 s confirm timeout, check it is live, confirm after
    10 s -> (rc, result of the confirm)."""
    plan = compile_plan({"name": "fwd-cp", "features": []}, {"hosts": {"fwd-cp": {"addresses": [ip]}}, "groups": {}},
                        {"mode": "service", "whitelist": [{"port": 7001}]})
    args = {"backend": "firewalld", "ruleset": {"microseg.nft": nftables.ruleset_file(plan),
                                                "objects": firewalld.objects_file(plan)},
            "confirm_timeout": 4, "auto_confirm": False}
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


def host_block_args(ip, port, **extra):
    """host_firewall's arguments for a host/block plan of fwd-cp admitting only `port` (and SSH)."""
    plan = compile_plan({"name": "fwd-cp", "features": []}, {"hosts": {"fwd-cp": {"addresses": [ip]}}, "groups": {}},
                        {"mode": "host", "state": "block", "whitelist": [{"port": port}]})
    args = {"backend": "firewalld", "ruleset": {"microseg.nft": nftables.ruleset_file(plan),
                                                "objects": firewalld.objects_file(plan)}}
    args.update(extra)
    return json.dumps(args)


CUT_TIMEOUT = 20          # long enough to stop firewalld and probe on a loaded machine before the revert


def test_a_revert_while_firewalld_is_stopped_still_puts_our_table_back(cluster):
    """A plan that cuts the node's service, firewalld stopped during the confirm window (issue 34,
    item 3): firewalld's part of the revert cannot run, but our table, which is what cuts, is put back
    first, so the node answers as before the cut; the confirm says what was and was not put back."""
    cp, worker, _ip, _inventory = cluster
    ip = address(cp)
    before = cp.sh(FIREWALLD_STATE).stdout
    rc, result = cp.run_module("host_firewall", host_block_args(ip, 6443))    # the confirmed plan: 6443
    assert rc == 0 and result["changed"], result
    assert matrix(worker, ip) == PLANNED
    table = normalise(cp.sh("nft list table inet microseg").stdout)

    # the cut: only 7001 admitted, confirmed too late
    rc, cut = cp.run_module("host_firewall", host_block_args(ip, 7001, confirm_timeout=CUT_TIMEOUT,
                                                             auto_confirm=False))
    armed = time.time()                  # the node's clock started before this: it reverts by armed + CUT_TIMEOUT
    assert rc == 0 and cut["confirm_token"], cut
    try:
        assert matrix(worker, ip) == {"6443 (planned)": False, "9999 (not planned)": False}
        cp.sh("systemctl stop firewalld")
        assert matrix(worker, ip) == {"6443 (planned)": False, "9999 (not planned)": False}    # our table cuts
        # the revert is still to come (else this test would not be about a stopped firewalld)
        assert cp.sh("test -e /run/microseg/pending.json", check=False).returncode == 0, "reverted too early"
        time.sleep(max(0, armed + CUT_TIMEOUT + 3 - time.time()))
        rc, late = cp.run_module("host_firewall",
                                 json.dumps({"state": "confirm", "confirm_token": cut["confirm_token"]}))
        assert rc != 0 and "revert to its previous rules failed" in late["msg"], late
        # our table is the confirmed one again: the service answers, the port the plan leaves out is blocked
        assert normalise(cp.sh("nft list table inet microseg").stdout) == table, late
        assert matrix(worker, ip) == PLANNED, late
        assert "our firewalld policy and ipsets" in late["msg"], late          # what was not put back, named
    finally:
        cp.sh("systemctl start firewalld")
        wait_for_firewalld(cp)
    # a next run (here: removal) repairs what firewalld could not take back
    rc, removed = cp.run_module("host_firewall", json.dumps({"backend": "firewalld", "state": "absent"}))
    assert rc == 0, removed
    assert cp.sh(FIREWALLD_STATE).stdout == before
    assert cp.sh("nft list table inet microseg", check=False).returncode != 0


# Issue 34, item 10: on firewalld the essential ICMPv6 rule used to become all of ICMPv6 from
# anywhere (the MLD types have no firewalld name), so ICMPv6 echo passed a zone that drops it.
# The lab network is IPv4: both nodes get an address of this ULA prefix on their interface.
ULA = "fd6d:7365:6734:a::"
# ICMPv6 echo from inside a node's network namespace (the host's Python, root: a raw socket; the
# lab image has no ping): exit 0 when the target answers within 2 s.
ECHO6 = r"""
import ipaddress, os, socket, sys, time
target = ipaddress.ip_address(sys.argv[1])
ident = (os.getpid() & 0xffff).to_bytes(2, "big")
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
s.sendto(bytes([128, 0, 0, 0]) + ident + b"\x00\x01microseg", (str(target), 0))   # the kernel sums it
deadline = time.time() + 2
while time.time() < deadline:
    s.settimeout(max(0.01, deadline - time.time()))
    try:
        data, peer = s.recvfrom(1500)
    except socket.timeout:
        break
    if data[0] == 129 and data[4:6] == ident and ipaddress.ip_address(peer[0].split("%")[0]) == target:
        sys.exit(0)
sys.exit(1)
"""


def in_netns(node, *command, check=True):
    """A command of the host's run in the node's network namespace (its sysctls, raw sockets)."""
    pid = podman("inspect", "-f", "{{.State.Pid}}", node.name).stdout.strip()
    return sh("nsenter", "-t", pid, "-n", *command, check=check)


def give_ipv6(node, address):
    in_netns(node, "sh", "-c", "echo 0 > /proc/sys/net/ipv6/conf/all/disable_ipv6 && "
                               "echo 0 > /proc/sys/net/ipv6/conf/eth0/disable_ipv6")
    node.sh("ip -6 addr add %s/64 dev eth0 nodad" % address)


def echo6(peer, address):
    return in_netns(peer, sys.executable, "-c", ECHO6, address, check=False).returncode == 0


def reachable6(peer, address, port):
    return peer.sh("nc -6 -z -w 2 %s %d" % (address, port), check=False).returncode == 0


def neighbour_state(peer, address):
    """The peer's neighbour entry for address after a fresh resolution: REACHABLE/STALE/DELAY
    when neighbour discovery answered, INCOMPLETE/FAILED (or none) when it did not."""
    peer.sh("ip -6 neigh flush dev eth0")
    reachable6(peer, address, 6443)                     # makes the peer resolve the address
    entry = peer.sh("ip -6 neigh show %s dev eth0" % address).stdout.split()
    return entry[-1] if entry else "none"


RESOLVED = ("REACHABLE", "STALE", "DELAY")


def test_firewalld_admits_neighbour_discovery_by_type_and_icmpv6_echo_follows_the_plan(cluster, tmp_path):
    """IPv6 on a real firewalld (issue 34, item 10), host/block then service/block: neighbour
    discovery works (the policy admits its ICMPv6 types), the planned port connects over IPv6 and
    a port outside the plan does not; ICMPv6 echo, which the plan does not admit, is dropped (in
    service mode by the user's drop zone, which our policy must not bypass), and answered once the
    plan admits ICMPv6 from the worker."""
    cp, worker, _ip, _inventory = cluster
    cp6, worker6 = ULA + "1", ULA + "2"
    give_ipv6(cp, cp6)
    give_ipv6(worker, worker6)
    # IPv6-only listeners beside listen()'s (netcat-openbsd binds one family per listener)
    listeners = cp.sh("for port in 6443 7777 9999; do setsid nc -6 -l -k -p $port >/dev/null 2>&1 < /dev/null & "
                      "echo $!; done").stdout.split()
    path = lab_inventory(tmp_path / "hosts.yml", groups={"kube_control_plane": [cp], "kube_node": [worker]},
                         microseg_mode="host", microseg_state="block", microseg_features=["flannel_vxlan"])
    inventory = yaml.safe_load(path.read_text())
    for node, family6 in ((cp, cp6), (worker, worker6)):
        group = "kube_control_plane" if node is cp else "kube_node"
        inventory["all"]["children"][group]["hosts"][node.name] = {"microseg_node_addresses": [address(node), family6]}
    path.write_text(yaml.safe_dump(inventory, sort_keys=False))
    try:
        assert ipaddress.ip_address(cp6) and reachable6(worker, cp6, 9999)          # firewalld alone: the user's port
        assert not reachable6(worker, cp6, 6443)                                  # the drop zone cuts the rest

        proc, _recap = playbook("site.yml", path)
        assert proc.returncode == 0, proc.stdout[-4000:]
        assert neighbour_state(worker, cp6) in RESOLVED, cp.sh("firewall-cmd --info-policy=microseg").stdout
        assert reachable6(worker, cp6, 6443)                                      # planned
        assert not reachable6(worker, cp6, 9999)                                  # not planned: host mode drops it
        assert not echo6(worker, cp6)                                             # not planned

        proc, _recap = playbook("site.yml", path, "-e", "microseg_mode=service")
        assert proc.returncode == 0, proc.stdout[-4000:]
        assert neighbour_state(worker, cp6) in RESOLVED
        assert reachable6(worker, cp6, 6443)
        assert not reachable6(worker, cp6, 7777)                                  # the host's drop zone decides
        # not the plan's either: passed on to the drop zone, which drops it (all of ICMPv6 admitted
        # by our policy ahead of the zones answered it)
        assert not echo6(worker, cp6), cp.sh("firewall-cmd --info-policy=microseg").stdout
        assert "ipv6-icmp" not in cp.sh("firewall-cmd --info-policy=microseg").stdout   # never all of ICMPv6

        proc, _recap = playbook("site.yml", path, "-e",
                                json.dumps({"microseg_whitelist": [{"proto": "icmpv6", "from": [worker.name]}]}))
        assert proc.returncode == 0, proc.stdout[-4000:]
        assert echo6(worker, cp6)                                                 # planned now
        assert reachable6(worker, cp6, 6443) and not reachable6(worker, cp6, 9999)
    finally:
        proc, _recap = playbook("remove.yml", path)
        cp.sh("kill %s; ip -6 addr del %s/64 dev eth0" % (" ".join(listeners), cp6), check=False)
        worker.sh("ip -6 addr del %s/64 dev eth0" % worker6, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:]


def dual_stack_inventory(path, cp, worker, addresses6, **variables):
    """lab_inventory with each node's IPv4 and IPv6 addresses (the lab network is IPv4 only: the
    IPv6 addresses are added by give_ipv6, so the inventory names them)."""
    path = lab_inventory(path, groups={"kube_control_plane": [cp], "kube_node": [worker]},
                         microseg_features=["flannel_vxlan"], **variables)
    inventory = yaml.safe_load(path.read_text())
    for node, group in ((cp, "kube_control_plane"), (worker, "kube_node")):
        inventory["all"]["children"][group]["hosts"][node.name] = {
            "microseg_node_addresses": [address(node), addresses6[node.name]]}
    path.write_text(yaml.safe_dump(inventory, sort_keys=False))
    return path


# SSH, a port the plan admits (the API server) and the user's own open port, on both families
BOTH_FAMILIES_PORTS = (22, 6443, 9999)


def both_families(worker, cp, cp6):
    ip = address(cp)
    return {"ipv4": dict((port, reachable(worker, ip, port)) for port in BOTH_FAMILIES_PORTS),
            "ipv6": dict((port, reachable6(worker, cp6, port)) for port in BOTH_FAMILIES_PORTS)}


def check_monitor_and_alert_loosen_nothing(cp, worker, tmp_path, suffix):
    """Issue 34, items 4 and 11, on a node whose own firewall (firewalld's drop zone or ufw's
    default deny) cuts SSH and the API server and opens 9999, dual-stack, with IPv4-only
    management sources: in monitor and alert the plan changes no verdict of the host's on either
    family (no IPv6 SSH fallback accepting port 22 from all of IPv6, no whitelist accepting); in
    block (the control) the plan's admissions do take effect. Then removal gives the host back."""
    cp6, worker6 = ULA + suffix + "1", ULA + suffix + "2"
    give_ipv6(cp, cp6)
    give_ipv6(worker, worker6)
    listeners = cp.sh("for port in %s; do for family in -4 -6; do "
                      "setsid nc $family -l -k -p $port >/dev/null 2>&1 < /dev/null & echo $!; done; done"
                      % " ".join(str(port) for port in BOTH_FAMILIES_PORTS)).stdout.split()
    path = dual_stack_inventory(tmp_path / "hosts.yml", cp, worker, {cp.name: cp6, worker.name: worker6},
                                microseg_mode="host", microseg_management_cidrs=[address(worker) + "/32"])
    try:
        host_alone = both_families(worker, cp, cp6)
        expected = dict((port, port == 9999) for port in BOTH_FAMILIES_PORTS)
        assert host_alone == {"ipv4": expected, "ipv6": expected}, host_alone
        for state in ("monitor", "alert"):
            proc, _recap = playbook("site.yml", path, "-e", "microseg_state=" + state)
            assert proc.returncode == 0, proc.stdout[-4000:]
            assert both_families(worker, cp, cp6) == host_alone, state
        proc, _recap = playbook("site.yml", path, "-e", "microseg_state=block")
        assert proc.returncode == 0, proc.stdout[-4000:]
        blocked = both_families(worker, cp, cp6)
        assert blocked["ipv4"] == {22: True, 6443: True, 9999: False}, blocked     # the plan decides
        assert blocked["ipv6"][6443] and not blocked["ipv6"][9999], blocked
    finally:
        proc, _recap = playbook("remove.yml", path)
        cp.sh("kill %s" % " ".join(listeners), check=False)
    assert proc.returncode == 0, proc.stdout[-4000:]
    try:
        cp.sh("setsid nc -6 -l -k -p 6443 >/dev/null 2>&1 < /dev/null &")
        assert not reachable6(worker, cp6, 6443)                                 # the host's own verdict again
    finally:
        cp.sh("pkill -f 'nc -6 -l -k -p 6443'; ip -6 addr del %s/64 dev eth0" % cp6, check=False)
        worker.sh("ip -6 addr del %s/64 dev eth0" % worker6, check=False)


def test_on_firewalld_monitor_and_alert_change_no_verdict_on_either_family(cluster, tmp_path):
    cp, worker, _ip, _inventory = cluster
    check_monitor_and_alert_loosen_nothing(cp, worker, tmp_path, "b")
