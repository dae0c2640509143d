# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""firewalld's state, its runtime ipsets and policies and our permanent policy, asked over the
system D-Bus from the module's own process.

Each firewall-cmd call starts a Python process that imports firewalld's client before it asks
firewalld anything: about 0.15 s of CPU on a small node, against a few milliseconds for the same
question from a process that runs already (benchmarks/README.md). These questions are asked on
every run, so they go over D-Bus when the node's Python has the dbus bindings (python3-dbus,
which firewalld itself needs). Without them, or when the bus does not answer, connect() returns
None and the caller runs firewall-cmd as before: the answer is the same either way.
"""

from __future__ import annotations

BUS_NAME = "org.fedoraproject.FirewallD1"
OBJECT_PATH = "/org/fedoraproject/FirewallD1"
IPSET_INTERFACE = BUS_NAME + ".ipset"
POLICY_INTERFACE = BUS_NAME + ".policy"
CONFIG_PATH = OBJECT_PATH + "/config"
CONFIG_INTERFACE = BUS_NAME + ".config"
CONFIG_POLICY_INTERFACE = BUS_NAME + ".config.policy"
PROPERTIES_INTERFACE = "org.freedesktop.DBus.Properties"
RUNNING = "RUNNING"         # firewall-cmd --state prints "running" for this state alone


def _import_dbus():
    try:
        import dbus  # pylint: disable=import-outside-toplevel
    except ImportError:
        return None
    return dbus


class FirewalldBus(object):
    """firewalld's main object on the system bus."""

    def __init__(self, dbus, proxy, get_object=None):
        """get_object(path): another of firewalld's objects (its permanent configuration's)."""
        self.dbus = dbus
        self.proxy = proxy
        self.get_object = get_object

    def running(self):
        """Whether firewalld is running (firewall-cmd --state says "running")."""
        state = self.proxy.Get(BUS_NAME, "state", dbus_interface=PROPERTIES_INTERFACE)
        return str(state) == RUNNING

    def ipsets(self):
        """The names of firewalld's runtime ipsets (firewall-cmd --get-ipsets)."""
        return sorted(str(name) for name in self.proxy.getIPSets(dbus_interface=IPSET_INTERFACE))

    def policies(self):
        """Every runtime policy, as firewalld.policies() reads them from firewall-cmd --list-all-policies."""
        return [policy_fields(name, self.proxy.getPolicySettings(name, dbus_interface=POLICY_INTERFACE))
                for name in sorted(str(name) for name in self.proxy.getPolicies(dbus_interface=POLICY_INTERFACE))]

    def permanent_policy(self, name):
        """One policy of the permanent configuration in the same fields, None when there is none."""
        config = self.get_object(CONFIG_PATH)
        if name not in [str(found) for found in config.getPolicyNames(dbus_interface=CONFIG_INTERFACE)]:
            return None
        policy = self.get_object(str(config.getPolicyByName(name, dbus_interface=CONFIG_INTERFACE)))
        return policy_fields(name, policy.getSettings(dbus_interface=CONFIG_POLICY_INTERFACE))


def policy_fields(name, settings):
    """firewalld's policy settings (a D-Bus dict) -> the fields firewalld.policies() gives."""
    return {"name": name, "priority": int(settings.get("priority", 0)),
            "target": str(settings.get("target", "CONTINUE")),
            "ingress": [str(zone) for zone in settings.get("ingress_zones", [])],
            "egress": [str(zone) for zone in settings.get("egress_zones", [])],
            "rules": [str(rule) for rule in settings.get("rich_rules", [])]}


def connect(import_dbus=_import_dbus):
    """A FirewalldBus, or None when this Python has no dbus bindings or no system bus answers
    for firewalld (not installed, not running, no bus in a container)."""
    dbus = import_dbus()
    if dbus is None:
        return None
    try:
        # a private connection: a revert runs in a forked process, which must not share the
        # module's connection (dbus-python's shared one is per process, not per fork)
        bus = dbus.SystemBus(private=True)
        # asked first, so that no D-Bus activation can ever start a firewalld that is stopped
        if not bus.name_has_owner(BUS_NAME):
            return None
        return FirewalldBus(dbus, bus.get_object(BUS_NAME, OBJECT_PATH, introspect=False),
                            lambda path: bus.get_object(BUS_NAME, path, introspect=False))
    except dbus.exceptions.DBusException:
        return None


def ask(bus, question, fallback, *args):
    """bus.question(*args), or fallback() when there is no bus or it fails to answer."""
    if bus is not None:
        try:
            return getattr(bus, question)(*args)
        except bus.dbus.exceptions.DBusException:
            pass
    return fallback()


def running(bus, state_command):
    """Whether firewalld runs: over D-Bus, else from state_command() -> (rc, stdout, stderr) of
    `firewall-cmd --state`, which prints "running" for the running state alone."""
    def by_command():
        rc, out, _err = state_command()
        return rc == 0 and out.strip() == "running"
    return ask(bus, "running", by_command)
