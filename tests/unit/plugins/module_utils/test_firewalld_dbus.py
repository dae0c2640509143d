# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""firewalld over D-Bus: the same answers as firewall-cmd, and firewall-cmd whenever D-Bus cannot
answer (no bindings, no bus, firewalld not on the bus, a failing call)."""
from __future__ import annotations

import pytest

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.firewalld import render as firewalld
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.firewalld.host import FirewalldHost
from ansible_collections.microseg.cluster_firewall.plugins.module_utils import firewalld_dbus


class DBusException(Exception):
    pass


# One policy as firewalld 1.3 lists it (firewall-cmd --list-all-policies) and as its D-Bus gives it.
LISTING = """microseg (active)
  priority: -30000
  target: CONTINUE
  ingress-zones: ANY
  egress-zones: HOST
  services:
  ports:
  protocols:
  masquerade: no
  forward-ports:
  source-ports:
  icmp-blocks:
  rich rules:
\trule family="ipv4" source ipset="microseg-cluster-nodes-v4" port port="10250" protocol="tcp" accept
\trule family="ipv4" port port="30000-32767" protocol="tcp" accept
"""
SETTINGS = {"version": "", "short": "", "description": "", "target": "CONTINUE", "priority": -30000,
            "ingress_zones": ["ANY"], "egress_zones": ["HOST"], "services": [], "ports": [], "icmp_blocks": [],
            "masquerade": False, "forward_ports": [], "rich_rules": [
                'rule family="ipv4" source ipset="microseg-cluster-nodes-v4" port port="10250" protocol="tcp" accept',
                'rule family="ipv4" port port="30000-32767" protocol="tcp" accept'],
            "protocols": [], "source_ports": []}


class FakeConfig(object):
    """firewalld's permanent configuration object and its policy objects."""

    def __init__(self, policies):
        self.policies = policies

    def getPolicyNames(self, dbus_interface=None):  # noqa: N802
        assert dbus_interface == "org.fedoraproject.FirewallD1.config"
        return sorted(self.policies)

    def getPolicyByName(self, name, dbus_interface=None):  # noqa: N802
        assert dbus_interface == "org.fedoraproject.FirewallD1.config"
        return "/org/fedoraproject/FirewallD1/config/policy/%d" % sorted(self.policies).index(name)

    def getSettings(self, dbus_interface=None):  # noqa: N802
        assert dbus_interface == "org.fedoraproject.FirewallD1.config.policy"
        return self.policies[self.current]


class FakeProxy(object):
    def __init__(self, state="RUNNING", ipsets=("b", "a"), fails=False, policies=None, permanent=None):
        self.state, self.names, self.fails, self.calls = state, ipsets, fails, []
        self.runtime_policies = {"microseg": SETTINGS} if policies is None else policies
        self.config = FakeConfig(self.runtime_policies if permanent is None else permanent)

    def getPolicies(self, dbus_interface=None):  # noqa: N802
        assert dbus_interface == "org.fedoraproject.FirewallD1.policy"
        return list(self.runtime_policies)

    def getPolicySettings(self, name, dbus_interface=None):  # noqa: N802
        assert dbus_interface == "org.fedoraproject.FirewallD1.policy"
        return self.runtime_policies[name]

    def get_object(self, path):
        if path == "/org/fedoraproject/FirewallD1/config":
            return self.config
        self.config.current = sorted(self.config.policies)[int(path.rsplit("/", 1)[1])]
        return self.config

    def Get(self, interface, name, dbus_interface=None):  # noqa: N802 (D-Bus's method name)
        self.calls.append(("Get", interface, name, dbus_interface))
        if self.fails:
            raise DBusException("org.freedesktop.DBus.Error.NoReply")
        return self.state

    def getIPSets(self, dbus_interface=None):  # noqa: N802
        self.calls.append(("getIPSets", dbus_interface))
        if self.fails:
            raise DBusException("org.freedesktop.DBus.Error.NoReply")
        return list(self.names)


class FakeBus(object):
    def __init__(self, proxy, owner=True, refuse=False):
        self.proxy, self.owner, self.refuse, self.asked = proxy, owner, refuse, []

    def name_has_owner(self, name):
        if self.refuse:
            raise DBusException("org.freedesktop.DBus.Error.FileNotFound: no system bus socket")
        self.asked.append(("owner", name))
        return self.owner

    def get_object(self, name, path, introspect=True):
        self.asked.append(("object", name, path, introspect))
        return self.proxy if path == "/org/fedoraproject/FirewallD1" else self.proxy.get_object(path)


class FakeDbus(object):
    """What connect() uses of the dbus module."""

    class exceptions(object):  # noqa: N801 (the dbus module's own name)
        DBusException = DBusException

    def __init__(self, bus):
        self.bus, self.private = bus, None

    def SystemBus(self, private=False):  # noqa: N802
        self.private = private
        return self.bus


class Runner(object):
    """host_firewall's command runner, answering firewall-cmd from a table."""

    def __init__(self, answers):
        self.answers, self.ran = answers, []

    def path(self, name):
        return "/usr/bin/" + name

    def output(self, command):
        self.ran.append(command[1:])
        return self.answers[tuple(command[1:])]

    def run(self, command, what=None):
        return self.output(command)[1]


def connected(proxy, **bus_options):
    dbus = FakeDbus(FakeBus(proxy, **bus_options))
    return firewalld_dbus.connect(lambda: dbus), dbus


def test_a_running_firewalld_answers_over_a_private_connection_without_activation():
    bus, dbus = connected(FakeProxy())
    assert bus.running() is True and bus.ipsets() == ["a", "b"]
    assert dbus.private is True
    # asked whether firewalld is on the bus before the object: D-Bus activation never starts it
    assert dbus.bus.asked == [("owner", "org.fedoraproject.FirewallD1"),
                              ("object", "org.fedoraproject.FirewallD1", "/org/fedoraproject/FirewallD1", False)]
    assert bus.proxy.calls == [("Get", "org.fedoraproject.FirewallD1", "state", "org.freedesktop.DBus.Properties"),
                               ("getIPSets", "org.fedoraproject.FirewallD1.ipset")]


@pytest.mark.parametrize("state", ["FAILED", "INIT"])
def test_only_the_running_state_is_running(state):
    bus, _dbus = connected(FakeProxy(state=state))
    assert bus.running() is False


@pytest.mark.parametrize("bus_options", [{"owner": False}, {"refuse": True}])
def test_no_firewalld_on_the_bus_or_no_bus_means_no_connection(bus_options):
    bus, _dbus = connected(FakeProxy(), **bus_options)
    assert bus is None


def test_without_the_dbus_bindings_there_is_no_connection():
    assert firewalld_dbus.connect(lambda: None) is None


def test_ask_falls_back_when_there_is_no_bus_or_the_call_fails():
    assert firewalld_dbus.ask(None, "running", lambda: "by command") == "by command"
    bus, _dbus = connected(FakeProxy(fails=True))
    assert firewalld_dbus.ask(bus, "ipsets", lambda: ["by command"]) == ["by command"]
    bus, _dbus = connected(FakeProxy())
    assert firewalld_dbus.ask(bus, "ipsets", lambda: pytest.fail("firewall-cmd ran")) == ["a", "b"]


def test_the_host_asks_d_bus_first_and_runs_firewall_cmd_only_without_it():
    answers = {("--state",): (0, "running\n", ""), ("--get-ipsets",): (0, "y x\n", "")}
    runner = Runner(answers)
    host = FirewalldHost(runner, connect=lambda: connected(FakeProxy(ipsets=("x",)))[0])
    assert host.running() is True and host.ipsets() == ["x"] and runner.ran == []
    runner = Runner(answers)
    host = FirewalldHost(runner, connect=lambda: None)
    assert host.running() is True and host.ipsets() == ["x", "y"]
    assert runner.ran == [["--state"], ["--get-ipsets"]]
    runner = Runner({("--state",): (252, "not running\n", "")})
    assert FirewalldHost(runner, connect=lambda: None).running() is False


def test_policies_over_d_bus_read_as_firewall_cmd_lists_them():
    bus, _dbus = connected(FakeProxy())
    assert bus.policies() == firewalld.policies(LISTING)
    assert bus.permanent_policy("microseg") == firewalld.policies(LISTING)[0]
    assert bus.permanent_policy("other") is None


def test_the_host_compares_runtime_and_permanent_policies_either_way():
    listing = {("--list-all-policies",): (0, LISTING, ""), ("--permanent", "--list-all-policies"): (0, LISTING, "")}
    by_bus = FirewalldHost(Runner({}), connect=lambda: connected(FakeProxy())[0])
    by_command = FirewalldHost(Runner(listing), connect=lambda: None)
    for host in (by_bus, by_command):
        assert host.policies() == firewalld.policies(LISTING)
        assert host.permanent_policy("microseg")["rules"] == SETTINGS["rich_rules"]
        assert host.permanent_policy("other") is None
    assert by_command.runner.ran == [["--list-all-policies"]] + [["--permanent", "--list-all-policies"]] * 2
    changed = dict(SETTINGS, priority=-29000)
    drifted = FirewalldHost(Runner({}), connect=lambda: connected(FakeProxy(permanent={"microseg": changed}))[0])
    assert drifted.permanent_policy("microseg")["priority"] == -29000 != drifted.policies()[0]["priority"]


def test_running_asks_d_bus_first_and_reads_firewall_cmd_state_without_it():
    bus, _dbus = connected(FakeProxy(state="FAILED"))
    assert firewalld_dbus.running(bus, lambda: pytest.fail("firewall-cmd ran")) is False
    assert firewalld_dbus.running(None, lambda: (0, "running\n", "")) is True
    assert firewalld_dbus.running(None, lambda: (252, "not running\n", "")) is False
