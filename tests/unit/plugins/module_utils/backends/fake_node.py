# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A node's packet filter in memory, as a module's run_command sees it: iptables-nft (save,
restore --test/--noflush, transactional), ipset (save, restore, destroy, swap), nft (list table,
-c -f, -f, one table per name) and firewalld (firewall-cmd, its D-Bus answers, its permanent files
in a directory, a runtime that a reload copies from them). Enough for every backend's node half to
run against it unchanged; the neighbours' rules (kube-proxy's chain, set and table, a firewalld
zone) are there from the start, and a command that would touch them fails, as a test should.

Not a parser of the real tools' grammars: it keeps what our backends send and prints it back in
the form they read (iptables-save, ipset save, nft list table)."""
from __future__ import annotations

import copy
import os
import re

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.nftables import render as nftables

SBIN = "/usr/sbin/"
TOOLS = ("iptables", "ip6tables", "iptables-nft", "ip6tables-nft", "iptables-nft-save", "ip6tables-nft-save",
         "iptables-nft-restore", "ip6tables-nft-restore", "ipset", "nft", "firewall-cmd")
BUILTIN = ("INPUT", "FORWARD", "OUTPUT")
NEIGHBOUR_CHAIN = "KUBE-FIREWALL"
NEIGHBOUR_SET = "KUBE-NODE-PORT"
NEIGHBOUR_TABLE = "ip kube-proxy"
NEIGHBOUR_ZONE = "zones/public.xml"
OUR_TABLE = "%s %s" % (nftables.FAMILY, nftables.TABLE)


class ToolError(Exception):
    """What the tool prints on stderr when it refuses a command (rc 1)."""


class FakeNode(object):
    """The module a backend's Runner drives (get_bin_path, run_command, warn, check_mode, _diff)."""

    def __init__(self, firewalld_dir, check_mode=False):
        self.check_mode, self._diff, self.warnings, self.commands = check_mode, True, [], []
        self.firewalld_dir = str(firewalld_dir)
        self.iptables = dict((family, {"chains": {"INPUT": ["-j %s" % NEIGHBOUR_CHAIN], "FORWARD": [], "OUTPUT": [],
                                                  NEIGHBOUR_CHAIN: ["-m mark --mark 0x8000/0x8000 -j DROP"]}})
                             for family in ("ipv4", "ipv6"))
        self.ipsets = {NEIGHBOUR_SET: {"head": "hash:ip,port family inet hashsize 1024 maxelem 65536",
                                       "members": ["10.0.0.1,tcp:30000"]}}
        self.tables = {NEIGHBOUR_TABLE: "table ip kube-proxy {\n\tchain services {\n\t}\n}\n"}
        os.makedirs(os.path.join(self.firewalld_dir, "zones"))
        with open(os.path.join(self.firewalld_dir, NEIGHBOUR_ZONE), "w") as handle:
            handle.write('<?xml version="1.0" encoding="utf-8"?>\n<zone><short>Public</short></zone>\n')
        self.runtime = self.permanent_files()       # what firewalld loaded at its start
        self.bus = FirewalldBus(self)

    # ------------------------------------------------------------ the module's surface

    def get_bin_path(self, name, required=False):
        return SBIN + name if name in TOOLS else None

    def warn(self, text):
        self.warnings.append(text)

    def run_command(self, argv, data=None, binary_data=False, environ_update=None):
        self.commands.append(list(argv))
        tool = os.path.basename(argv[0])
        try:
            if tool in ("iptables", "ip6tables") and argv[1:] == ["--version"]:
                return 0, "%s v1.8.9 (nf_tables)\n" % tool, ""
            if tool.endswith("-nft-save"):
                return 0, self._save("ipv6" if tool.startswith("ip6") else "ipv4"), ""
            if tool.endswith("-nft-restore"):
                self._restore("ipv6" if tool.startswith("ip6") else "ipv4", data, test="--test" in argv)
                return 0, "", ""
            if tool == "ipset":
                return 0, self._ipset(argv[1:], data), ""
            if tool == "nft":
                return self._nft(argv[1:], data)
            if tool == "firewall-cmd":
                return self._firewall_cmd(argv[1:])
        except ToolError as error:
            return 1, "", "%s: %s\n" % (tool, error)
        return 127, "", "%s: not simulated: %s\n" % (tool, " ".join(argv))

    # ------------------------------------------------------------ what a test compares

    def state(self):
        """Everything the node's packet filter holds (firewalld's runtime and permanent files too)."""
        return copy.deepcopy({"iptables": self.iptables, "ipsets": self.ipsets, "nft": self.tables,
                              "firewalld": self.permanent_files(), "firewalld runtime": self.runtime})

    def neighbours(self):
        """What others own: it must never change."""
        state = self.state()
        return {"chain": [state["iptables"][family]["chains"][NEIGHBOUR_CHAIN] for family in ("ipv4", "ipv6")],
                "input": [[spec for spec in state["iptables"][family]["chains"]["INPUT"] if "MICROSEG" not in spec]
                          for family in ("ipv4", "ipv6")],
                "set": state["ipsets"][NEIGHBOUR_SET], "table": state["nft"][NEIGHBOUR_TABLE],
                "zone": state["firewalld"][NEIGHBOUR_ZONE]}

    # ------------------------------------------------------------ iptables-nft

    def _save(self, family):
        chains = self.iptables[family]["chains"]
        lines = ["# Generated by iptables-nft-save v1.8.9 (nf_tables)", "*filter"]
        lines += [":%s ACCEPT [0:0]" % name for name in BUILTIN]
        lines += [":%s - [0:0]" % name for name in sorted(chains) if name not in BUILTIN]
        lines += ["-A %s %s" % (name, spec) for name in list(BUILTIN) + sorted(set(chains) - set(BUILTIN))
                  for spec in chains[name]]
        return "\n".join(lines + ["COMMIT", "# Completed"]) + "\n"

    def _restore(self, family, script, test):
        """iptables-restore --noflush: the whole script or nothing."""
        chains = copy.deepcopy(self.iptables[family]["chains"])
        for number, line in enumerate((script or "").splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#") or line in ("*filter", "COMMIT"):
                continue
            self._restore_line(chains, line, number)
        if not test:
            self.iptables[family]["chains"] = chains

    @staticmethod
    def _restore_line(chains, line, number):
        declared = re.match(r"^:(\S+) - \[0:0\]$", line)
        if declared:
            chains[declared.group(1)] = []          # --noflush: a declared chain is flushed, only it
            return
        verb, chain, rest = (line.split(None, 2) + ["", ""])[:3]
        if chain == NEIGHBOUR_CHAIN or (verb in ("-F", "-X") and chain in BUILTIN):
            raise ToolError("line %d failed: %s is not ours to touch" % (number, chain))
        if chain not in chains:
            raise ToolError("line %d failed: chain %s does not exist" % (number, chain))
        if verb == "-A":
            chains[chain].append(rest)
        elif verb == "-I":
            position, spec = rest.split(None, 1)
            chains[chain].insert(int(position) - 1, spec)
        elif verb == "-D":
            if rest not in chains[chain]:
                raise ToolError("line %d failed: no such rule in %s" % (number, chain))
            chains[chain].remove(rest)
        elif verb == "-F":
            chains[chain] = []
        elif verb == "-X":
            if any(re.search(r"-j %s(\s|$)" % re.escape(chain), spec) for specs in chains.values() for spec in specs):
                raise ToolError("line %d failed: chain %s is still referenced" % (number, chain))
            del chains[chain]
        else:
            raise ToolError("line %d failed: %r not simulated" % (number, line))

    # ------------------------------------------------------------ ipset

    def _ipset(self, args, data):
        if args == ["save"]:
            lines = []
            for name in sorted(self.ipsets):
                lines.append("create %s %s" % (name, self.ipsets[name]["head"]))
                lines += ["add %s %s" % (name, member) for member in self.ipsets[name]["members"]]
            return "\n".join(lines) + ("\n" if lines else "")
        if args == ["restore"]:
            sets = copy.deepcopy(self.ipsets)
            for line in (data or "").splitlines():
                if line.strip():
                    self._ipset_command(sets, line.split())
            self.ipsets = sets
            return ""
        self._ipset_command(self.ipsets, args)
        return ""

    @staticmethod
    def _ipset_command(sets, words):
        verb, name = words[0], words[1]
        if name == NEIGHBOUR_SET or (verb == "swap" and words[2] == NEIGHBOUR_SET):
            raise ToolError("%s is not ours to touch" % NEIGHBOUR_SET)
        if verb == "create":
            exist = "-exist" in words
            if name in sets and not exist:
                raise ToolError("set %s exists" % name)
            sets.setdefault(name, {"head": " ".join(word for word in words[2:] if word != "-exist"), "members": []})
        elif name not in sets:
            raise ToolError("set %s does not exist" % name)
        elif verb == "add":
            sets[name]["members"] = sorted(set(sets[name]["members"]) | {words[2]})
        elif verb == "flush":
            sets[name]["members"] = []
        elif verb == "destroy":
            del sets[name]
        elif verb == "swap":
            sets[name], sets[words[2]] = sets[words[2]], sets[name]
        else:
            raise ToolError("%s not simulated" % verb)

    # ------------------------------------------------------------ nft

    def _nft(self, args, data):
        if args[:2] == ["list", "table"] or args[:3] == ["-j", "list", "table"]:
            name = " ".join(args[-2:])
            if name not in self.tables:
                return 1, "", "Error: No such file or directory; did you mean table '%s'?\n" % NEIGHBOUR_TABLE
            return 0, self.tables[name], ""
        if args in (["-c", "-f", "-"], ["-f", "-"]):
            for line in (data or "").splitlines():
                top = re.match(r"^(delete |flush )?table (\S+ \S+)|^flush ruleset", line)
                if top and (top.group(2) or "") != OUR_TABLE:
                    raise ToolError("%r touches what is not ours" % line)
            body = nftables.table_body(data)
            if args[0] == "-c":
                pass                                # the dry run: checked above, nothing loaded
            elif body is None:
                self.tables.pop(OUR_TABLE, None)    # 'delete table' alone: the table goes
            else:
                self.tables[OUR_TABLE] = body
            return 0, "", ""
        raise ToolError("nft %s not simulated" % " ".join(args))

    # ------------------------------------------------------------ firewalld

    def permanent_files(self):
        """{path under the firewalld directory: text}."""
        found = {}
        for top, _dirs, names in os.walk(self.firewalld_dir):
            for name in names:
                path = os.path.join(top, name)
                with open(path) as handle:
                    found[os.path.relpath(path, self.firewalld_dir)] = handle.read()
        return found

    def _firewall_cmd(self, args):
        if args == ["--state"]:
            return 0, "running\n", ""
        if args == ["--reload"]:
            self.runtime = self.permanent_files()
            return 0, "success\n", ""
        if args == ["--check-config"]:
            return 0, "", ""
        if args in (["--list-all-policies"], ["--permanent", "--list-all-policies"], ["--list-all-zones"],
                    ["--permanent", "--list-all-zones"]):
            return 0, "", ""                # runtime and permanent agree: nothing a reload would lose
        raise ToolError("%s not simulated" % " ".join(args))


class FirewalldBus(object):
    """firewalld's D-Bus answers (firewalld_dbus.FirewalldBus' surface), from the node's runtime and
    permanent files: a policy is its XML, compared as text."""

    def __init__(self, node):
        self.node = node

    def running(self):
        return True

    def ipsets(self):
        return sorted(path[len("ipsets/"):-len(".xml")] for path in self.node.runtime if path.startswith("ipsets/"))

    @staticmethod
    def _policy(name, text):
        return {"name": name, "priority": -30000, "target": "CONTINUE", "ingress": ["ANY"], "egress": ["HOST"],
                "rules": [text]}

    def policies(self):
        return [self._policy(path[len("policies/"):-len(".xml")], text) for path, text in sorted(self.node.runtime.items())
                if path.startswith("policies/")]

    def permanent_policy(self, name):
        text = self.node.permanent_files().get("policies/%s.xml" % name)
        return None if text is None else self._policy(name, text)
