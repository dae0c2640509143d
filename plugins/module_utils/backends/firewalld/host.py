# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""firewalld backend, node part: our table `inet microseg` (as the nftables backend) plus our
firewalld objects (backends/firewalld/render.py says why both): read them, replace or remove them,
revert them.

On firewalld's nftables backend our objects are a policy and its ipsets. firewalld has no
runtime-only way to create a policy or an ipset: they are written to its permanent configuration
and a reload makes them live. On firewalld's nftables backend a reload rebuilds only firewalld's
own table; it also drops firewalld's runtime-only changes, so we reload
only when our objects change and refuse when the runtime holds changes a reload would lose. On
firewalld's iptables backend a reload flushes every iptables table (kube-proxy's, Docker's, the
CNI's): there the same openings are firewalld direct rules (backends/firewalld/direct.py), added
to the running firewalld and kept in direct.xml without any reload.
"""

from __future__ import annotations

import json
import os
import tempfile

from ansible_collections.microseg.cluster_firewall.plugins.module_utils import firewalld_dbus
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.firewalld import render as firewalld
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.firewalld import direct as firewalld_direct
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.nftables import render as nftables
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.base import BackendError, no_change
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.firewalld.spec import SPEC
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.nftables.host import (
    NftablesBackend,
    NftablesChange,
    NftablesHost,
)
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.netfilter import firewalld_backend

CONFIG_DIR = "/etc/firewalld"
CONF_FILE = os.path.join(CONFIG_DIR, "firewalld.conf")
DIRECT_FILE = "direct.xml"
IPTABLES_NOTE = ("firewalld runs its iptables backend (FirewallBackend=iptables in %s): the plan is opened there "
                 "with firewalld direct rules, added without a reload. Every firewall-cmd --reload or firewalld "
                 "restart you do on that backend flushes all iptables tables, kube-proxy's, Docker's and the CNI's "
                 "rules with firewalld's, until each puts its own back; firewalld's nftables backend "
                 "(FirewallBackend=nftables, firewalld 0.6 or later) does not, and we recommend it" % CONF_FILE)
RELOAD_NOTE = "reload firewalld (its own table only, on its nftables backend)"


def _read(path):
    try:
        with open(path) as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def _write(path, text):
    """Replace a file atomically, 0644 root like firewalld's own."""
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o750)
    handle, temporary = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", dir=directory)
    try:
        with os.fdopen(handle, "w") as stream:
            stream.write(text)
        os.chmod(temporary, 0o644)
        os.rename(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


class FirewalldHost(object):
    """firewall-cmd and our files under /etc/firewalld."""

    def __init__(self, runner, config_dir=CONFIG_DIR, connect=firewalld_dbus.connect):
        """connect: firewalld's D-Bus (None without it: then firewall-cmd answers everything)."""
        self.runner = runner
        self.config_dir = config_dir
        self.cmd = runner.path("firewall-cmd")
        self._connect = connect

    def _bus(self):
        if not hasattr(self, "_firewalld_bus"):
            self._firewalld_bus = self._connect() if self.cmd else None
        return self._firewalld_bus

    def running(self):
        """Whether firewalld runs (asked once per host object: one run of the module)."""
        if not self.cmd:
            return False
        if not hasattr(self, "_running"):
            self._running = firewalld_dbus.running(self._bus(), lambda: self.runner.output([self.cmd, "--state"]))
        return self._running

    def ipsets(self):
        """The names of firewalld's runtime ipsets."""
        return firewalld_dbus.ask(self._bus(), "ipsets", lambda: sorted(self.run("--get-ipsets").split()))

    def policies(self):
        """firewalld's runtime policies, in firewalld.policies()' fields."""
        return firewalld_dbus.ask(self._bus(), "policies", lambda: firewalld.policies(self.run("--list-all-policies")))

    def permanent_policy(self, name):
        """One policy of firewalld's permanent configuration in the same fields, None when there is none."""
        def by_command():
            found = firewalld.policies(self.run("--permanent", "--list-all-policies"))
            return ([policy for policy in found if policy["name"] == name] + [None])[0]
        return firewalld_dbus.ask(self._bus(), "permanent_policy", by_command, name)

    def backend(self):
        return firewalld_backend(_read(os.path.join(self.config_dir, "firewalld.conf")))

    def run(self, *args):
        return self.runner.run([self.cmd] + list(args), what="firewall-cmd " + " ".join(args))

    def live_files(self):
        """{path under /etc/firewalld: text} of our objects in the permanent configuration."""
        found = {}
        for sub in ("policies", "ipsets"):
            directory = os.path.join(self.config_dir, sub)
            names = sorted(os.listdir(directory)) if os.path.isdir(directory) else []
            for name in names:
                path = "%s/%s" % (sub, name)
                if firewalld.is_ours(path):
                    found[path] = _read(os.path.join(directory, name)) or ""
        return found

    def write(self, files, remove):
        for path in remove:
            os.remove(os.path.join(self.config_dir, path))
        for path, text in sorted(files.items()):
            _write(os.path.join(self.config_dir, path), text)


class FirewalldChange(object):
    """Our firewalld objects, desired against the permanent files and firewalld's runtime view."""

    def __init__(self, host, desired, remove):
        self.host = host
        self.desired = {} if remove else desired
        self.actions, self.reported = [], []
        running = host.running()
        self.live = host.live_files()
        self.reload = False
        if not running and not remove:
            raise BackendError("firewalld is not running: the firewalld backend drives a running firewalld; "
                               "start it, or use microseg_backend: nftables or iptables")
        on_iptables = running and host.backend() == "iptables"
        if on_iptables:
            self.desired = {}           # there the openings are direct rules (DirectChange)
        stale = sorted(path for path in self.live if path not in self.desired)
        differing = sorted(path for path, text in self.desired.items() if self.live.get(path) != text)
        self.write_files = dict((path, self.desired[path]) for path in differing)
        self.remove_files = stale
        runtime = []
        in_sync = True
        if running and not on_iptables:         # there nothing of ours is reloaded: the files alone count
            runtime = host.policies()
            in_sync = self._runtime_in_sync(runtime)
        self.changed = bool(differing or stale or not in_sync)
        for path in differing:
            self.actions.append("%s firewalld %s" % ("replace" if path in self.live else "create", path[:-4]))
        for path in stale:
            self.actions.append("remove firewalld %s" % path[:-4])
        if self.changed and running:
            if on_iptables:
                self.reported.append("our policy and ipsets leave firewalld's permanent configuration; its runtime "
                                     "keeps them until its next reload, not done here: on its iptables backend a "
                                     "reload flushes kube-proxy's, Docker's and the CNI's rules")
            else:
                self._refuse_losing_runtime()
                self.reload = True
                self.actions.append(RELOAD_NOTE)
        if running and self.desired and not on_iptables:
            self.reported += firewalld.policies_ahead(runtime)
        self.before = ["# /etc/firewalld/%s\n%s" % (path, text) for path, text in sorted(self.live.items())]
        self.after = ["# /etc/firewalld/%s\n%s" % (path, text) for path, text in sorted(self.desired.items())]

    def _runtime_in_sync(self, runtime):
        """Whether firewalld's runtime shows our objects as the permanent configuration has them."""
        ours = dict((policy["name"], policy) for policy in runtime)
        if ours.get(firewalld.POLICY) != self.host.permanent_policy(firewalld.POLICY):
            return False
        wanted = set(path[len("ipsets/"):-len(".xml")] for path in self.live if path.startswith("ipsets/"))
        live = set(self.host.ipsets()) if wanted else set()
        return wanted <= live

    def _refuse_losing_runtime(self):
        """Only when our objects change: the listings, compared line by line."""
        lost = firewalld.runtime_only(self.host.run("--list-all-policies"),
                                      self.host.run("--permanent", "--list-all-policies"))
        lost += firewalld.runtime_only(self.host.run("--list-all-zones"), self.host.run("--permanent", "--list-all-zones"))
        if lost:
            raise BackendError("firewalld's runtime configuration holds changes its permanent configuration does not "
                               "(%s): the reload our objects need would lose them. Make them permanent "
                               "(firewall-cmd --runtime-to-permanent) or drop them (firewall-cmd --reload), then run "
                               "again" % "; ".join(lost[:5]), runtime_only=lost)

    def apply(self):
        self.host.write(self.write_files, self.remove_files)
        if self.reload:
            # firewalld must never load a configuration it rejects: check it first, and put our
            # previous files back when it fails (the runtime is still the old one then)
            rc, out, err = self.host.runner.output([self.host.cmd, "--check-config"])
            if rc != 0:
                self.host.write(self.live, [path for path in self.write_files if path not in self.live])
                raise BackendError("firewall-cmd --check-config rejects our firewalld objects (rc=%d): %s; our "
                                   "previous files are back and firewalld was not reloaded"
                                   % (rc, (err or out).strip()), stdout=out, stderr=err)
            self.host.run("--reload")


class DirectChange(object):
    """Our firewalld direct rules (firewalld's iptables backend), desired against firewalld's
    runtime (`--direct --get-all-*`) and our lines of direct.xml. Applied without a reload: each
    chain and rule is added to or removed from the running firewalld, and direct.xml keeps them."""

    def __init__(self, host, desired, remove, put_back=False, file_text=None):
        """desired: (chains, rules) of firewalld_direct.direct_config(), wanted on firewalld's
        iptables backend only. put_back: a revert, which writes file_text (None: no file) back."""
        self.host = host
        self.actions, self.reported = [], []
        running = host.running()
        on_iptables = running and host.backend() == "iptables"
        self.file_text = _read(os.path.join(host.config_dir, DIRECT_FILE))
        self.put_back = put_back
        self.desired = tuple(desired) if (on_iptables or put_back) and not remove else ([], [])
        try:
            self.kept = firewalld_direct.file_entries(self.file_text)
        except ValueError as error:
            if on_iptables and not put_back:
                # before anything changes (check mode says it too): the file is ours to write there
                raise BackendError(str(error), path=os.path.join(host.config_dir, DIRECT_FILE))
            # a revert puts back the text it found; elsewhere the file is not ours to touch
            self.kept = ([], [])
            if not put_back:
                self.reported.append("%s; no direct rule of ours can be in it" % error)
        self.runtime, all_rules = ([], []), ""
        if running and (on_iptables or self.kept != ([], [])):
            all_rules = host.run("--direct", "--get-all-rules")
            self.runtime = (firewalld_direct.parse_chains(host.run("--direct", "--get-all-chains")),
                            firewalld_direct.parse_rules(all_rules))
        self.write_file = self.file_text != file_text if put_back else self.kept != self.desired
        self.new_text = file_text
        if self.write_file and not put_back:
            # merged now, not in apply(): a file we cannot merge into fails before anything changes
            try:
                self.new_text = firewalld_direct.merged_file(self.file_text, *self.desired)
            except ValueError as error:
                raise BackendError(str(error), path=os.path.join(host.config_dir, DIRECT_FILE))
        self.add = [sorted(set(want) - set(have)) for want, have in zip(self.desired, self.runtime)]
        self.drop = [sorted(set(have) - set(want)) for want, have in zip(self.desired, self.runtime)]
        self.changed = self.write_file or any(self.add) or any(self.drop)
        if on_iptables:
            self.reported.append(IPTABLES_NOTE)
            if self.desired != ([], []):
                self.reported += firewalld_direct.rules_ahead(all_rules)
        if any(self.add) or any(self.drop):
            self.actions.append("firewalld direct rules: %d chains and %d rules added, %d chains and %d rules removed "
                                "(no reload)" % (len(self.add[0]), len(self.add[1]), len(self.drop[0]), len(self.drop[1])))
        if self.write_file:
            verb = "write" if any(self.desired) else "remove"
            self.actions.append("%s our lines of /etc/firewalld/%s" % (verb, DIRECT_FILE))
        self.before = ["# firewalld direct (ours)"] + firewalld_direct.element_lines(*self.kept) if any(self.kept) else []
        self.after = ["# firewalld direct (ours)"] + firewalld_direct.element_lines(*self.desired) \
            if any(self.desired) else []

    def apply(self):
        if self.write_file:
            text = self.new_text
            path = os.path.join(self.host.config_dir, DIRECT_FILE)
            if text is None:
                os.remove(path)
            else:
                _write(path, text)
        # chains before the rules that jump to them; rules out before their chains
        for ipv, chain in self.add[0]:
            self.host.run("--direct", "--add-chain", ipv, firewalld_direct.TABLE, chain)
        for ipv, chain, priority, args in self._ordered(self.add[1]):
            self.host.run("--direct", "--add-rule", ipv, firewalld_direct.TABLE, chain, str(priority), *args.split())
        for ipv, chain, priority, args in reversed(self._ordered(self.drop[1])):
            self.host.run("--direct", "--remove-rule", ipv, firewalld_direct.TABLE, chain, str(priority), *args.split())
        for ipv, chain in self.drop[0]:
            self.host.run("--direct", "--remove-chain", ipv, firewalld_direct.TABLE, chain)

    @staticmethod
    def _ordered(rules):
        """Peer set chains' rules first, INPUT's jump last: a packet never meets a half-made chain."""
        return sorted(rules, key=lambda rule: (rule[1] == "INPUT", rule[1] == firewalld_direct.TOP_CHAIN, rule))


class CombinedChange(object):
    """The firewalld objects first (they open what the plan admits), then our table (it restricts)."""

    def __init__(self, *parts):
        self.parts = parts
        self.changed = any(part.changed for part in self.parts)
        self.actions = [line for part in self.parts for line in part.actions]
        self.reported = [line for part in self.parts for line in part.reported]
        self.before = [line for part in self.parts for line in part.before]
        self.after = [line for part in self.parts for line in part.after]

    def apply(self):
        for part in self.parts:
            if part.changed:
                part.apply()


def desired_objects(text):
    """the ruleset's objects (JSON text) -> {path: XML}; {} for none."""
    if not (text or "").strip():
        return {}
    try:
        files = json.loads(text)
        firewalld.check_objects(files)
    except ValueError as error:
        raise BackendError("ruleset objects: %s" % error)
    return files


class FirewalldBackend(NftablesBackend):
    """Our table inet microseg and our firewalld policy and ipsets."""

    spec = SPEC
    tools = ("nft", "firewall-cmd")

    def change(self, remove):
        if remove and not self.has_tools():
            return no_change
        objects = desired_objects(self.files["objects"])
        table = NftablesHost(self.runner)
        host = self.firewalld_host()
        self.result["families"] = ["ipv4", "ipv6"]
        try:
            direct = firewalld_direct.direct_config(objects) if not remove else ([], [])
        except ValueError as error:
            raise BackendError("ruleset objects: %s" % error)
        return lambda: CombinedChange(FirewalldChange(host, objects, remove), DirectChange(host, direct, remove),
                                      NftablesChange(table, self.files["microseg.nft"], remove))

    def firewalld_host(self):
        return FirewalldHost(self.runner)

    def revert(self, change):
        """Back to our table and objects as they were before this change.

        Our table first, and whatever the rest does: it is what restricts, so it is what cuts a
        node off, and putting it back needs nothing of firewalld. firewalld's part can fail
        (firewalld stopped, runtime-only changes made during the confirm window, --check-config
        refusing); each part is tried, and the error says what is back and what is not."""
        before_files = dict(change.parts[0].live)
        before_direct, before_file = change.parts[1].runtime, change.parts[1].file_text
        table_revert = NftablesBackend.revert(self, change.parts[2])

        def revert():
            actions, failures = [], []

            def attempt(name, undo):
                try:
                    actions.extend(undo())
                except Exception as error:  # pylint: disable=broad-except
                    # the next part is still tried: a half revert beats none
                    failures.append("%s: %s" % (name, error))
            attempt("our table %s %s" % (nftables.FAMILY, nftables.TABLE), table_revert)
            host = self.firewalld_host()
            attempt("our firewalld policy and ipsets",
                    lambda: _applied(FirewalldChange(host, before_files, remove=not before_files)))
            attempt("our firewalld direct rules",
                    lambda: _applied(DirectChange(host, before_direct, remove=False, put_back=True,
                                                  file_text=before_file)))
            if failures:
                raise BackendError("the revert failed for %s; what it did: %s"
                                   % ("; ".join(failures), "; ".join(actions) or "nothing"),
                                   actions=actions, failures=failures)
            return actions
        return revert


def _applied(change):
    change.apply()
    return change.actions
