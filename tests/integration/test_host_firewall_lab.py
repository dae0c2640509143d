# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""host_firewall on real netfilter in lab nodes, through the ansible CLI (podman connection).

The target node is preloaded with the filter table kube-proxy (iptables mode), Calico and
Docker leave behind (chain names and comments as they write them). Each test checks that
those rules stay byte-identical and in order, that our jump lands after theirs, that a second
run changes nothing, and - with real TCP from a peer node - that the firewall admits what the
plan admits and blocks what it must (negative controls).
"""
from __future__ import annotations

import json
import re
from types import SimpleNamespace

import pytest

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.iptables import render as iptables
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.iptables.host import IptablesBackend
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.plan import compile_plan

KUBE_FIREWALL_DROP = ('-A KUBE-FIREWALL ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment '
                      '"block incoming localnet connections" -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP')
FOREIGN_V4 = """*filter
:KUBE-FIREWALL - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-PROXY-FIREWALL - [0:0]
:KUBE-EXTERNAL-SERVICES - [0:0]
:KUBE-FORWARD - [0:0]
:KUBE-SERVICES - [0:0]
:cali-INPUT - [0:0]
:cali-FORWARD - [0:0]
:cali-OUTPUT - [0:0]
:DOCKER - [0:0]
:DOCKER-USER - [0:0]
:DOCKER-ISOLATION-STAGE-1 - [0:0]
:DOCKER-ISOLATION-STAGE-2 - [0:0]
-A INPUT -m comment --comment "cali:Cz_u1IQiXIMmKD4c" -j cali-INPUT
-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS
-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES
-A INPUT -j KUBE-FIREWALL
-A FORWARD -m comment --comment "cali:wUHhoiAYhphO9Mso" -j cali-FORWARD
-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A FORWARD -j DOCKER-USER
-A FORWARD -j DOCKER-ISOLATION-STAGE-1
-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -o docker0 -j DOCKER
-A OUTPUT -m comment --comment "cali:tVnHkvAo15HuiPy0" -j cali-OUTPUT
-A OUTPUT -j KUBE-FIREWALL
%(kube_firewall_drop)s
-A cali-INPUT -m comment --comment "cali:msRIDfJRWnYwzW4g" -m mark --mark 0x10000/0x10000 -j ACCEPT
-A DOCKER-USER -j RETURN
-A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2
-A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP
COMMIT
""" % {"kube_firewall_drop": KUBE_FIREWALL_DROP}
FOREIGN_V6 = """*filter
:KUBE-FIREWALL - [0:0]
:cali-INPUT - [0:0]
-A INPUT -m comment --comment "cali:Cz_u1IQiXIMmKD4c" -j cali-INPUT
-A INPUT -j KUBE-FIREWALL
COMMIT
"""
KUBE_JUMP = '-m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS'
TOOL = {"nf_tables": "nft", "legacy": "legacy"}


class Target(object):
    """A lab node whose netfilter we manage, with one iptables variant."""

    def __init__(self, node, variant, peer):
        self.node, self.variant, self.peer = node, variant, peer
        self.ip = address(node)

    def tool(self, family="ipv4", action=None):
        name = "%s-%s" % ("iptables" if family == "ipv4" else "ip6tables", TOOL[self.variant])
        return name + ("-" + action if action else "")

    def save(self, family="ipv4"):
        """The filter table without comment lines and counters."""
        out = self.node.sh("%s -t filter" % self.tool(family, "save")).stdout
        return "\n".join(re.sub(r"\[\d+:\d+\]", "[0:0]", line) for line in out.splitlines() if not line.startswith("#"))

    def foreign(self, family="ipv4"):
        """Every line of the filter table that is not ours."""
        return [line for line in self.save(family).splitlines() if "MICROSEG" not in line]

    def plan(self, policy):
        inventory = {"hosts": {self.node.name: {"addresses": [self.ip]},
                               self.peer.name: {"addresses": [address(self.peer)]}},
                     "groups": {"kube_control_plane": [self.node.name], "kube_node": [self.peer.name]}}
        return compile_plan({"name": self.node.name, "features": ["flannel_vxlan"]}, inventory, policy)

    def apply(self, plan=None, check=False, state="present"):
        args = {"variant": self.variant, "state": state}
        if plan is not None:
            args["ruleset"] = {"ipv4.rules": iptables.ruleset_file(plan, "ipv4"),
                               "ipv6.rules": iptables.ruleset_file(plan, "ipv6"), "ipsets": iptables.ipsets_file(plan)}
        rc, result = self.node.run_module("host_firewall", json.dumps(args), check=check)
        assert rc == 0, result
        return result


def address(node):
    return node.sh("ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1").stdout.strip()


def reachable(peer, ip, port):
    return peer.sh("nc -z -w 2 %s %d" % (ip, port), check=False).returncode == 0


def preloaded_target(lab_nodes, variant, prefix, ports):
    """A target node holding kube-proxy's, Calico's and Docker's rules, with listeners on ports
    that a peer reaches before any rule of ours (so the tests can fail), and its peer."""
    short = variant.replace("_", "")
    peer = lab_nodes("%speer-%s" % (prefix, short))
    target = Target(lab_nodes("%sfw-%s" % (prefix, short)), variant, peer)
    target.node.write("/tmp/foreign4", FOREIGN_V4)
    target.node.write("/tmp/foreign6", FOREIGN_V6)
    target.node.sh("%s < /tmp/foreign4 && %s < /tmp/foreign6"
                   % (target.tool("ipv4", "restore"), target.tool("ipv6", "restore")))
    for port in ports:
        target.node.sh("setsid nc -l -k -p %d >/dev/null 2>&1 < /dev/null &" % port)
    for port in ports:
        assert reachable(peer, target.ip, port), "listener %d not reachable before the firewall" % port
    return target


@pytest.fixture(scope="module", params=["nf_tables", "legacy"])
def target(request, lab_nodes):
    return preloaded_target(lab_nodes, request.param, "", (6443, 2379, 9999))


def test_apply_keeps_foreign_rules_goes_after_them_and_is_idempotent(target):
    before4, before6 = target.save("ipv4"), target.save("ipv6")
    plan = target.plan({"mode": "host", "state": "block"})

    checked = target.apply(plan, check=True)
    assert checked["changed"] is True and checked["actions"]
    assert target.save("ipv4") == before4 and target.save("ipv6") == before6      # check mode touched nothing

    applied = target.apply(plan)
    assert applied["changed"] is True and applied["variant"] == target.variant
    for family, before in (("ipv4", before4), ("ipv6", before6)):
        assert target.foreign(family) == before.splitlines(), family   # foreign rules identical, same order
        input_rules = [line for line in target.save(family).splitlines() if line.startswith("-A INPUT")]
        assert input_rules[-1] == iptables.JUMP, family                    # our jump after every KUBE-/cali- jump
        assert sum(1 for line in input_rules if "MICROSEG" in line) == 1
    after = target.save("ipv4")

    again = target.apply(plan)
    assert again["changed"] is False and again["actions"] == []
    assert target.save("ipv4") == after


def test_kube_proxy_reinserting_at_the_top_and_calico_appending(target):
    plan = target.plan({"mode": "host", "state": "block"})
    target.apply(plan)
    # kube-proxy's periodic sync: delete its jump and insert it again at the top
    target.node.sh("%s -D INPUT %s && %s -I INPUT 1 %s" % (target.tool(), KUBE_JUMP, target.tool(), KUBE_JUMP))
    assert target.apply(plan)["changed"] is False            # still after theirs, nothing to do
    # a CNI in append mode lands after ours: reported, and ours moves after it, no duplicate
    target.node.sh("%s -N cali-pi-extra && %s -A INPUT -j cali-pi-extra" % (target.tool(), target.tool()))
    result = target.apply(plan)
    assert result["changed"] is True and any("cali-pi-extra" in line for line in result["reported"])
    input_rules = [line for line in target.save().splitlines() if line.startswith("-A INPUT")]
    assert input_rules[-2:] == ["-A INPUT -j cali-pi-extra", iptables.JUMP]
    assert sum(1 for line in input_rules if "MICROSEG" in line) == 1
    assert target.apply(plan)["changed"] is False
    target.node.sh("%s -D INPUT -j cali-pi-extra && %s -X cali-pi-extra" % (target.tool(), target.tool()))


def test_host_block_admits_the_plan_and_blocks_the_rest(target):
    target.apply(target.plan({"mode": "host", "state": "block"}))
    assert reachable(target.peer, target.ip, 6443)                 # apiserver: from all
    assert not reachable(target.peer, target.ip, 9999)             # not whitelisted: dropped
    assert not reachable(target.peer, target.ip, 2379)             # etcd: control plane only, peer is a worker


def test_blacklist_wins_over_the_whitelist(target):
    peer_ip = address(target.peer)
    target.apply(target.plan({"mode": "host", "state": "block", "blacklist": [{"from": [peer_ip]}]}))
    assert not reachable(target.peer, target.ip, 6443)             # whitelisted for all, but blacklisted


def test_service_mode_leaves_unlisted_ports_open(target):
    target.apply(target.plan({"mode": "service", "state": "block"}))
    assert reachable(target.peer, target.ip, 9999)                 # no policy on this port: passes
    assert reachable(target.peer, target.ip, 6443)
    assert not reachable(target.peer, target.ip, 2379)             # guarded: only control-plane sources


@pytest.mark.parametrize("state", ["monitor", "alert"])
def test_monitor_and_alert_let_traffic_through(target, state):
    target.apply(target.plan({"mode": "host", "state": state}))
    target.node.sh("%s -Z %s" % (target.tool(), iptables.CHAIN))
    assert reachable(target.peer, target.ip, 9999)
    assert reachable(target.peer, target.ip, 2379)
    counters = target.node.sh("%s -L %s -v -n -x" % (target.tool(), iptables.CHAIN)).stdout
    if state == "alert":   # the rate-limited LOG rule saw the unlisted connections
        log = [line for line in counters.splitlines() if "LOG" in line and "everything else" in line][0]
        assert int(log.split()[0]) > 0


def test_remove_takes_out_exactly_ours(target):
    target.apply(target.plan({"mode": "host", "state": "block"}))
    # everything but ours, in order (earlier tests moved kube-proxy's jump as kube-proxy does)
    theirs = {"ipv4": target.foreign("ipv4"), "ipv6": target.foreign("ipv6")}
    checked = target.apply(state="absent", check=True)
    assert checked["changed"] is True and "MICROSEG" in target.save()
    removed = target.apply(state="absent")
    assert removed["changed"] is True
    assert target.save("ipv4").splitlines() == theirs["ipv4"]      # line for line, in order
    assert target.save("ipv6").splitlines() == theirs["ipv6"]
    assert "mseg-" not in target.node.sh("ipset list -n").stdout
    assert target.apply(state="absent")["changed"] is False
    assert reachable(target.peer, target.ip, 9999)                 # everything passes again


def test_a_ruleset_the_kernel_rejects_fails_clearly_and_changes_nothing(target):
    target.apply(target.plan({"mode": "host", "state": "block"}))
    before = target.save()
    bad = "*filter\n:MICROSEG-INPUT - [0:0]\n-A MICROSEG-INPUT -p tcp -m tcp --dport 1 -j ACCEPT\n" \
          "-A MICROSEG-INPUT -m no_such_match -j ACCEPT\nCOMMIT\n"
    rc, result = target.node.run_module("host_firewall", json.dumps(
        {"variant": target.variant, "ruleset": {"ipv4.rules": bad}}))
    assert rc != 0 and "restore --test failed" in result["msg"]
    assert result["offending_line"] == "-A MICROSEG-INPUT -m no_such_match -j ACCEPT"
    assert target.save() == before                      # dry run failed: nothing was applied


def test_the_other_variant_is_refused_when_the_rules_live_elsewhere(target):
    other = "legacy" if target.variant == "nf_tables" else "nf_tables"
    rc, result = target.node.run_module("host_firewall", json.dumps({"variant": other}))
    assert rc != 0 and "mixing variants breaks rule ordering" in result["msg"]


# A stand-in for systemctl on a node without systemd: it logs its calls and keeps the unit's
# enabled state in a file, answering is-enabled as systemctl does (prints the state; rc 1 when not enabled).
FAKE_SYSTEMCTL = """#!/bin/sh
echo "$*" >> /tmp/systemctl.log
case "$1" in
  is-enabled) if [ -e /tmp/unit-enabled ]; then echo enabled; else echo disabled; exit 1; fi ;;
  enable) touch /tmp/unit-enabled ;;
esac
"""
SCRIPT = "/usr/local/sbin/microseg-restore"
UNIT = "/etc/systemd/system/microseg-firewall.service"


def test_the_boot_restore_is_installed_and_enabled_once_confirmed_then_left_alone(lab_nodes):
    node = lab_nodes("bootrestore")
    node.write("/usr/local/bin/systemctl", FAKE_SYSTEMCTL)
    node.sh("chmod 755 /usr/local/bin/systemctl && mkdir -p /run/systemd/system /etc/systemd/system")
    plan = Target(node, "nf_tables", node).plan({"mode": "host", "state": "block"})
    args = {"variant": "nf_tables", "ruleset": {"ipv4.rules": iptables.ruleset_file(plan, "ipv4"),
                                                "ipv6.rules": iptables.ruleset_file(plan, "ipv6"),
                                                "ipsets": iptables.ipsets_file(plan)},
            "keep_dir": "/etc/microseg", "boot_script": SCRIPT}

    def files():
        return node.sh("for f in %s %s /tmp/unit-enabled; do [ -e $f ] && stat -c '%%n %%a' $f; done; true"
                       % (SCRIPT, UNIT)).stdout.split("\n")[:-1]

    def systemctl_calls():
        return node.sh("cat /tmp/systemctl.log 2>/dev/null; rm -f /tmp/systemctl.log").stdout.splitlines()

    rc, checked = node.run_module("host_firewall", json.dumps(args), check=True)
    assert rc == 0 and checked["changed"] is True, checked
    assert "write %s for the boot restore" % UNIT in checked["actions"]
    assert "enable microseg-firewall.service at boot" in checked["actions"]
    assert checked["boot_unit"] == UNIT
    assert files() == [] and systemctl_calls() == ["is-enabled microseg-firewall.service"]   # check mode: nothing

    rc, applied = node.run_module("host_firewall", json.dumps(dict(args, confirm_timeout=120, auto_confirm=False)))
    assert rc == 0 and applied["confirm_token"], applied
    assert "write %s for the boot restore, once confirmed" % SCRIPT in applied["actions"]
    assert files() == []                                      # held back: a rollback would leave no boot restore
    systemctl_calls()
    rc, confirmed = node.run_module("host_firewall", json.dumps({"state": "confirm",
                                                                 "confirm_token": applied["confirm_token"]}))
    assert rc == 0 and "enable microseg-firewall.service at boot" in confirmed["actions"], confirmed
    assert files() == [SCRIPT + " 755", UNIT + " 644", "/tmp/unit-enabled 644"]
    assert systemctl_calls() == ["daemon-reload", "enable microseg-firewall.service"]
    assert "ExecStart=%s" % SCRIPT in node.sh("cat " + UNIT).stdout

    rc, again = node.run_module("host_firewall", json.dumps(args))
    assert rc == 0 and again["changed"] is False and again["actions"] == [], again
    assert systemctl_calls() == ["is-enabled microseg-firewall.service"]

    node.sh("rm /tmp/unit-enabled")                           # someone disabled the unit: enabled again, no reload
    rc, fixed = node.run_module("host_firewall", json.dumps(args))
    assert rc == 0 and fixed["actions"] == ["enable microseg-firewall.service at boot"], fixed
    assert systemctl_calls() == ["is-enabled microseg-firewall.service", "enable microseg-firewall.service"]


def test_a_confirm_that_comes_too_late_says_what_the_node_put_back_and_keeps_nothing(lab_nodes):
    node = lab_nodes("latecomer")
    plan = Target(node, "nf_tables", node).plan({"mode": "host", "state": "block"})
    before = node.sh("iptables-nft-save -t filter | grep -v '^#'").stdout
    args = {"variant": "nf_tables", "ruleset": {"ipv4.rules": iptables.ruleset_file(plan, "ipv4"),
                                                "ipsets": iptables.ipsets_file(plan)},
            "keep_dir": "/etc/microseg", "boot_script": SCRIPT,
            "confirm_timeout": 2, "auto_confirm": False}
    rc, applied = node.run_module("host_firewall", json.dumps(args))
    assert rc == 0 and applied["confirm_token"], applied
    assert "MICROSEG-INPUT" in node.sh("iptables-nft-save -t filter").stdout
    node.sh("sleep 5")
    rc, late = node.run_module("host_firewall", json.dumps({"state": "confirm", "confirm_token": applied["confirm_token"]}))
    assert rc != 0 and late["confirmed"] is False, late
    assert "the confirm came too late: the node put its previous rules back by itself" in late["msg"]
    assert any("MICROSEG-INPUT" in line for line in late["rolled_back"]), late
    assert node.sh("iptables-nft-save -t filter | grep -v '^#'").stdout == before
    assert node.sh("ls /etc/microseg; ls %s" % SCRIPT, check=False).stdout == ""     # nothing kept for the boot


def test_one_task_applies_and_confirms_then_keeps_the_files(lab_nodes):
    """The action confirms the revert it armed in the same task: nothing is rolled back later."""
    node = lab_nodes("oneconfirm")
    plan = Target(node, "nf_tables", node).plan({"mode": "host", "state": "block"})
    args = {"variant": "nf_tables", "ruleset": {"ipv4.rules": iptables.ruleset_file(plan, "ipv4"),
                                                "ipsets": iptables.ipsets_file(plan)},
            "keep_dir": "/etc/microseg", "confirm_timeout": 8}
    rc, applied = node.run_module("host_firewall", json.dumps(args))          # 8 s: room for a busy machine
    assert rc == 0 and applied["confirmed"] is True and applied["changed"] is True, applied
    assert any(line.startswith("confirmed: the revert armed by token") for line in applied["actions"]), applied
    assert node.sh("test -e /run/microseg/pending.json", check=False).returncode != 0
    applied_rules = node.sh("iptables-nft-save -t filter | grep -v '^#'").stdout
    node.sh("sleep 9")                                        # past the revert time: nothing was put back
    assert node.sh("iptables-nft-save -t filter | grep -v '^#'").stdout == applied_rules
    assert "MICROSEG-INPUT" in applied_rules
    assert node.sh("ls /etc/microseg").stdout.split() != []   # kept once confirmed
    rc, again = node.run_module("host_firewall", json.dumps(args))
    assert rc == 0 and again["changed"] is False and "confirmed" not in again, again   # nothing armed, nothing to confirm


EL_INPUT = """*filter
:INPUT ACCEPT [0:0]
-A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p icmp -j ACCEPT
-A INPUT -i lo -j ACCEPT
-A INPUT -p tcp -m state --state NEW -m tcp --dport 22 -j ACCEPT
-A INPUT -j REJECT --reject-with icmp-host-prohibited
COMMIT
"""


def test_a_distributions_terminal_reject_is_placed_after_not_hidden_behind(lab_nodes):
    """EL's iptables-services ends INPUT with an unconditional REJECT (seen on a real kubeadm/flannel
    CentOS 7 dump). Our jump goes ahead of it, after kube-proxy's jumps, the run says so, and the
    boot restore does the same; nothing of theirs moves."""
    target = preloaded_target(lab_nodes, "nf_tables", "el", (6443, 9999))
    target.node.write("/tmp/el4", EL_INPUT)
    target.node.sh("iptables-nft-restore --noflush < /tmp/el4")
    assert not reachable(target.peer, target.ip, 6443)             # the REJECT: the cluster is cut before us
    before = target.foreign()

    result = target.apply(target.plan({"mode": "host", "state": "block"}))
    assert any("icmp-host-prohibited" in line and "ahead of it" in line for line in result["reported"]), result
    assert reachable(target.peer, target.ip, 6443)                 # admitted by the plan: passes now
    assert not reachable(target.peer, target.ip, 9999)             # the negative control
    input_rules = [line for line in target.save().splitlines() if line.startswith("-A INPUT")]
    assert input_rules[-2:] == [iptables.JUMP, "-A INPUT -j REJECT --reject-with icmp-host-prohibited"]
    assert target.foreign() == before                              # theirs: identical, same order
    assert target.apply(target.plan({"mode": "host", "state": "block"}))["changed"] is False

    # the boot restore after a reboot: the distribution's rules are loaded, then ours go ahead of its REJECT
    target.node.sh("iptables-nft -D INPUT %s" % iptables.JUMP[len("-A INPUT "):])
    script = IptablesBackend.restore_commands(SimpleNamespace(result={"variant": "nf_tables"}), iptables.JUMP_COMMENT)
    target.node.write("/tmp/restore.sh", "dir=/tmp/kept\n" + script)
    target.node.sh("mkdir -p /tmp/kept && iptables-nft-save -t filter | grep -E '^(\\*filter|:MICROSEG|-A MICROSEG|COMMIT)'"
                   " > /tmp/kept/ipv4.rules && ipset save > /tmp/kept/ipsets && : > /tmp/kept/ipv6.rules")
    target.node.sh("sh /tmp/restore.sh && sh /tmp/restore.sh")                   # twice: one jump
    input_rules = [line for line in target.save().splitlines() if line.startswith("-A INPUT")]
    assert input_rules[-2:] == [iptables.JUMP, "-A INPUT -j REJECT --reject-with icmp-host-prohibited"]
    assert sum(1 for line in input_rules if "MICROSEG" in line) == 1
    assert reachable(target.peer, target.ip, 6443)
