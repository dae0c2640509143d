# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""iptables backend, node part: read the live state, apply a change, revert it, restore it at
boot. The decisions are in backends/iptables/render.py; this runs the commands (through the shared
Runner) and turns their failures into clear errors."""

from __future__ import annotations

import json
import os
import shlex

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.iptables import render as iptables
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.base import (
    Backend,
    BackendError,
    no_change,
)
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.iptables.spec import SPEC
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.protocols import read_protocol_numbers
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.netfilter import (
    choose_variant,
    parse_iptables_save,
    parse_iptables_version,
    rule_count,
)

TOOLS = {"ipv4": "iptables", "ipv6": "ip6tables"}
VARIANT_SUFFIX = {"legacy": "legacy", "nf_tables": "nft"}


def parse_ruleset(text, family):
    """The rendered (or user-templated) iptables-restore file -> our chain's rule specs.
    Anything but our chain is refused: the file cannot be used to touch other rules."""
    rules = []
    for number, line in enumerate((text or "").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#") or line in ("*filter", "COMMIT", ":%s - [0:0]" % iptables.CHAIN):
            continue
        if line.startswith("-A %s " % iptables.CHAIN):
            rules.append(line[len("-A %s " % iptables.CHAIN):])
            continue
        raise BackendError("%s ruleset line %d: %r is not allowed; the ruleset may only hold '*filter', "
                           "':%s - [0:0]', '-A %s ...' rules and 'COMMIT'" % (family, number, line, iptables.CHAIN,
                                                                              iptables.CHAIN))
    return rules


def parse_ipsets(text):
    """The rendered ipsets file -> {name: [members]}; only mseg-* sets are allowed."""
    sets = {}
    for number, line in enumerate((text or "").splitlines(), 1):
        parts = line.split()
        if not parts or parts[0].startswith("#"):
            continue
        if len(parts) < 2 or parts[0] not in ("create", "add") or not parts[1].startswith(iptables.SET_PREFIX):
            raise BackendError("ipsets line %d: %r is not allowed; only 'create %sNAME ...' and 'add %sNAME CIDR'"
                               % (number, line, iptables.SET_PREFIX, iptables.SET_PREFIX))
        if parts[0] == "create":
            sets.setdefault(parts[1], [])
        elif parts[1] not in sets:
            raise BackendError("ipsets line %d: set %s is added to before it is created" % (number, parts[1]))
        else:
            sets[parts[1]].append(parts[2])
    return sets


class IptablesHost(object):
    def __init__(self, runner, variant="auto"):
        self.runner = runner             # the backend's: one runner per run
        self.module = runner.module
        self.variant = self._choose_variant(variant)
        self.protocols = read_protocol_numbers()

    # ------------------------------------------------------------ commands

    def _bin(self, family, action):
        """The variant's binary, e.g. iptables-nft-restore; the plain name when it is that variant."""
        tool = TOOLS[family]
        name = "%s-%s%s" % (tool, VARIANT_SUFFIX[self.variant], "" if action is None else "-" + action)
        path = self.module.get_bin_path(name)
        if path:
            return path
        plain = self.module.get_bin_path(tool if action is None else "%s-%s" % (tool, action))
        if plain and self._plain_variant(tool) == self.variant:
            return plain
        raise BackendError("%s not found: install the iptables package (variant %s) or use microseg_backend: nftables"
                           % (name, self.variant))

    def _plain_variant(self, tool):
        path = self.module.get_bin_path(tool)
        if not path:
            return None
        _rc, out, err = self.runner.output([path, "--version"])
        return parse_iptables_version(out or err)["variant"]

    def run(self, argv, data=None, what=None):
        return self.runner.run(argv, data, what)

    def _choose_variant(self, wanted):
        counts = {}
        for variant, suffix in VARIANT_SUFFIX.items():
            path = self.module.get_bin_path("iptables-%s-save" % suffix)
            if path:
                rc, out, _err = self.runner.output([path])
                counts[variant] = rule_count(parse_iptables_save(out)) if rc == 0 else 0
        default = self._plain_variant("iptables")
        if default is None and not counts:
            raise BackendError("iptables not found on the node: install iptables or use microseg_backend: nftables")
        if wanted != "auto":
            other = "legacy" if wanted == "nf_tables" else "nf_tables"
            if counts.get(other, 0) and not counts.get(wanted, 0):
                raise BackendError("microseg_iptables_variant: %s was asked for, but the node's rules (kube-proxy, "
                                   "Docker, CNI) are in iptables-%s (%d rules) and none in %s; mixing variants breaks "
                                   "rule ordering. Allowed: auto or %s" % (wanted, other, counts[other], wanted, other))
            return wanted
        chosen, _reason = choose_variant(default or "nf_tables", counts.get("legacy", 0), counts.get("nf_tables", 0))
        return chosen

    # ------------------------------------------------------------ state

    def ipv6_available(self):
        return os.path.exists("/proc/net/if_inet6")

    def live_chain(self, family):
        out = self.run([self._bin(family, "save"), "-t", "filter"], what="%s-save" % TOOLS[family])
        return iptables.parse_save(out, self.protocols)

    def live_sets(self):
        path = self.module.get_bin_path("ipset")
        if not path:
            raise BackendError("ipset not found: install the ipset package (peer sets live in ipsets)")
        return iptables.parse_ipset_save(self.run([path, "save"], what="ipset save"))

    # ------------------------------------------------------------ changes

    def apply_sets(self, script):
        if script:
            self.run([self.module.get_bin_path("ipset", required=True), "restore"], data=script, what="ipset restore")

    def destroy_sets(self, names):
        for name in names:
            self.run([self.module.get_bin_path("ipset", required=True), "destroy", name], what="ipset destroy %s" % name)

    def drop_void_table(self, family):
        """Delete `table ip|ip6 filter` when it is void (only empty base chains with policy accept),
        in one nft transaction that deletes each base chain first: a rule someone added meanwhile
        makes that delete fail, and nothing is deleted. Returns what was done, or None."""
        nft = self.module.get_bin_path("nft")
        table = "%s filter" % iptables.NFT_TABLE_FAMILY[family]
        if not nft:
            return None
        rc, out, _err = self.runner.output([nft, "-j", "list", "table"] + table.split())
        if rc != 0:
            return None
        listing = json.loads(out or "{}")
        if not iptables.void_nft_table(listing):
            return None
        chains = [item["chain"]["name"] for item in listing.get("nftables", []) if "chain" in item]
        script = "".join("delete chain %s %s\n" % (table, name) for name in chains) + "delete table %s\n" % table
        self.run([nft, "-f", "-"], data=script, what="nft delete table %s" % table)
        return "remove table %s (nothing but our chain was in it)" % table

    def restore(self, family, script):
        """Dry-run, then apply in one transaction; the chain is never half-loaded."""
        binary = self._bin(family, "restore")
        self.run([binary, "--test", "--noflush"], data=script, what="%s-restore --test" % TOOLS[family])
        # legacy takes the xtables lock (wait for kube-proxy's run to end); nft is transactional
        wait = ["--wait=30"] if self.variant == "legacy" else []
        self.run([binary, "--noflush"] + wait, data=script, what="%s-restore" % TOOLS[family])


class IptablesChange(object):
    """What has to change, computed from desired and live before anything is touched."""

    def __init__(self, host, desired_rules, desired_sets, remove):
        self.host = host
        self.remove = remove
        live_sets = host.live_sets()
        self.live_sets = live_sets
        if remove:
            desired_sets = {}
        self.set_script, self.obsolete_sets, self.actions = iptables.set_changes(desired_sets, live_sets)
        self.actions += ["destroy ipset %s" % name for name in self.obsolete_sets]
        self.scripts, self.reported, self.before, self.after = {}, [], [], []
        self.live_rules = {}
        self.void_tables = []         # families whose iptables-nft filter table only we filled
        for family, rules in sorted(desired_rules.items()):
            live = host.live_chain(family)
            self.live_rules[family] = list(live["rules"])
            script = iptables.restore_script(rules, live, remove=remove or not rules)
            if script:
                self.scripts[family] = script
                verb = "remove" if remove or not rules else "rewrite"
                self.actions.append("%s: %s chain %s%s" % (family, verb, iptables.CHAIN,
                                                           "" if verb == "remove" else " (%d rules)" % len(rules)))
                if verb == "remove" and host.variant == "nf_tables" and iptables.only_ours(live):
                    self.void_tables.append(family)
                    self.actions.append("%s: remove table %s filter if nothing else is in it then"
                                        % (family, iptables.NFT_TABLE_FAMILY[family]))
            state = iptables.jump_state(live["input"])
            for spec in state["after_ours"]:
                self.reported.append("%s: INPUT rule %r sits after our jump (a CNI in append mode?); "
                                     "our jump is moved after it" % (family, spec))
            if state["host_firewall"] and not remove and rules:
                self.reported.append("%s: ufw is active: our jump sits ahead of its chains, so the plan decides "
                                     "first (what it admits passes, in host/block mode what it does not is dropped) "
                                     "and ufw decides what the plan leaves (service mode, monitor, alert)" % family)
            if state["terminal"] and not remove and rules:
                self.reported.append("%s: INPUT ends with the unconditional %r (the distribution's own firewall): "
                                     "our jump sits ahead of it, so what the plan admits is accepted; what the plan "
                                     "only counts or logs (monitor, alert, service mode's other ports) still meets "
                                     "that rule" % (family, state["terminal"]))
            family_sets = dict((name, content["members"]) for name, content in live_sets.items()
                               if name.endswith(iptables.FAMILY_SUFFIX[family]))
            wanted_sets = dict((name, members) for name, members in desired_sets.items()
                               if name.endswith(iptables.FAMILY_SUFFIX[family]))
            self.before.append("## %s\n" % family + iptables.describe(live["rules"], live["input"], family_sets))
            after_input = [] if remove or not rules else [iptables.JUMP[len("-A INPUT "):]]
            self.after.append("## %s\n" % family + iptables.describe([] if remove else rules, after_input, wanted_sets))

    @property
    def changed(self):
        return bool(self.set_script or self.obsolete_sets or self.scripts)

    def snapshot(self):
        """Our objects as they are now, as desired rules and sets: applying them undoes this change."""
        sets = dict((name, list(content["members"])) for name, content in self.live_sets.items()
                    if name.startswith(iptables.SET_PREFIX))
        return dict(self.live_rules), sets

    def apply(self):
        self.host.apply_sets(self.set_script)           # sets first: the rules refer to them
        for family in sorted(self.scripts):
            self.host.restore(family, self.scripts[family])
        self.host.destroy_sets(self.obsolete_sets)      # unreferenced now
        for family in self.void_tables:                # tables that exist only because of us go with us
            self.host.drop_void_table(family)


RESTORE_COMMANDS = """
# iptables: our ipsets, our chain MICROSEG-INPUT and one jump to it from INPUT.
variant=%(variant)s
jump=%(jump)s

ipset restore -exist < "$dir/ipsets"
for family in 4 6; do
  tool=iptables; [ "$family" = 6 ] && tool=ip6tables
  file="$dir/ipv$family.rules"
  grep -q '^-A MICROSEG-INPUT ' "$file" || continue
  [ "$family" = 6 ] && [ ! -e /proc/net/if_inet6 ] && continue
  "$tool-$variant-restore" --noflush < "$file"
  "$tool-$variant" -C INPUT -m comment --comment "$jump" -j MICROSEG-INPUT 2>/dev/null && continue
  # ahead of ufw's first jump and of an unconditional DROP/REJECT that ends INPUT (EL's
  # iptables-services), else appended
  at=$("$tool-$variant" -S INPUT | grep '^-A ' | grep -n -E \
    -e '^-A INPUT (-m comment --comment ("[^"]*"|[^ ]+) )?-j (REJECT|DROP)( --reject-with [^ ]+)?$' \
    -e '^-A INPUT -j ufw6?-' | head -n 1 | cut -d: -f1)
  if [ -n "$at" ]; then
    "$tool-$variant" -I INPUT "$at" -m comment --comment "$jump" -j MICROSEG-INPUT
  else
    "$tool-$variant" -A INPUT -m comment --comment "$jump" -j MICROSEG-INPUT
  fi
done
"""


class IptablesBackend(Backend):
    """Our chain MICROSEG-INPUT, its jump from INPUT and the ipsets mseg-*, IPv4 and IPv6."""

    spec = SPEC
    tools = ("iptables", "ipset")

    def change(self, remove):
        params = self.params
        desired_rules = {"ipv4": parse_ruleset(self.files["ipv4.rules"], "ipv4"),
                         "ipv6": parse_ruleset(self.files["ipv6.rules"], "ipv6")}
        desired_sets = parse_ipsets(self.files["ipsets"])
        if remove and not self.has_tools():
            return no_change
        host = IptablesHost(self.runner, params["variant"])
        self.variant = host.variant
        self.result["variant"] = host.variant
        if not host.ipv6_available():
            if desired_rules["ipv6"]:
                self.module.warn("the node has no IPv6 (/proc/net/if_inet6 is missing): the IPv6 rules are skipped")
            del desired_rules["ipv6"]
            desired_sets = dict((name, members) for name, members in desired_sets.items() if not name.endswith("-v6"))
        self.result["families"] = sorted(desired_rules)
        return lambda: IptablesChange(host, desired_rules, desired_sets, remove)

    def revert(self, change):
        """Back to the objects as they were before this change (none: our chain, jump and sets go)."""
        variant = change.host.variant
        rules, sets = change.snapshot()
        runner = self.runner

        def revert():
            undo = IptablesChange(IptablesHost(runner, variant), rules, sets, remove=False)
            undo.apply()
            return undo.actions
        return revert

    def restore_commands(self, jump_comment):
        return RESTORE_COMMANDS % {"variant": "legacy" if self.result.get("variant") == "legacy" else "nft",
                                   "jump": shlex.quote(jump_comment)}
