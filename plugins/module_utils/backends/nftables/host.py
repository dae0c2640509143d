# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""nftables backend, node part: read our table, replace or remove it in one transaction, revert
it, restore it at boot."""

from __future__ import annotations

import os

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.nftables import render as nftables
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.base import (
    Backend,
    BackendError,
    no_change,
)
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.nftables.spec import SPEC
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.protocols import read_protocol_numbers

REMOVE = "table %s %s\ndelete table %s %s\n" % (nftables.FAMILY, nftables.TABLE, nftables.FAMILY, nftables.TABLE)
# The ruleset file we last loaded (tmpfs, like the commit-confirm's state): a revert loads it again
# as we rendered it, not as `nft list table` prints it back (a listing may leave out a match nft
# takes for a dependency). After a reboot it is gone and the boot restore's kept file stands in.
LOADED = "/run/microseg/nftables-loaded.nft"


class NftablesHost(object):
    def __init__(self, runner, loaded_path=None):
        self.runner = runner             # the backend's: one runner per run
        self.loaded_path = loaded_path or LOADED
        self.module = runner.module
        self.nft = runner.path("nft")
        if not self.nft:
            raise BackendError("nft not found: install the nftables package or use microseg_backend: iptables")
        self.protocols = read_protocol_numbers()

    def run(self, args, data=None, what=None):
        return self.runner.run([self.nft] + args, data, what or "nft " + " ".join(args))

    def live_table(self):
        """Our table as nft lists it, or None when it does not exist."""
        rc, out, err = self.runner.output([self.nft, "list", "table", nftables.FAMILY, nftables.TABLE])
        if rc != 0:
            if "No such file or directory" in err or "does not exist" in err:
                return None
            raise BackendError("nft list table %s %s failed (rc=%d): %s"
                               % (nftables.FAMILY, nftables.TABLE, rc, err.strip()))
        return out

    def load(self, text):
        """Dry run (-c), then one transaction: the table is never half-loaded. Then keep what was
        loaded (nothing when the table went)."""
        self.run(["-c", "-f", "-"], data=text, what="nft -c -f (dry run)")
        self.run(["-f", "-"], data=text, what="nft -f")
        try:
            if nftables.table_body(text) is None:
                if os.path.exists(self.loaded_path):
                    os.remove(self.loaded_path)
            else:
                _write_private(self.loaded_path, text)
        except (IOError, OSError):
            # without the copy a revert reloads the listing: the table itself is loaded and stays
            pass

    def loaded(self):
        """The ruleset file we last loaded, None when there is none."""
        try:
            with open(self.loaded_path) as handle:
                return handle.read()
        except (IOError, OSError):
            return None


def _write_private(path, text):
    """Replace a file atomically, 0600 in a 0700 directory."""
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o700)
    temporary = "%s.%d.tmp" % (path, os.getpid())
    with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
        handle.write(text)
    os.rename(temporary, path)


class NftablesChange(object):
    """Desired (a ruleset file) against live (our table), before anything is touched."""

    def __init__(self, host, ruleset, remove):
        self.host = host
        try:
            nftables.check_ruleset(ruleset)
        except ValueError as error:
            raise BackendError("nft ruleset: %s" % error)
        self.ruleset = ruleset
        self.desired = None if remove else nftables.table_body(ruleset)
        live = host.live_table()
        self.before, self.after = live or "", self.desired or ""
        self.previous = self._previous(live)
        self.actions, self.reported = [], []
        if self.desired is None:
            self.changed = live is not None
            if self.changed:
                self.actions.append("remove table %s %s" % (nftables.FAMILY, nftables.TABLE))
        else:
            wanted = nftables.normalise(self.desired, host.protocols)
            self.changed = live is None or wanted != nftables.normalise(live, host.protocols)
            if self.changed:
                self.actions.append("%s table %s %s" % ("create" if live is None else "replace",
                                                        nftables.FAMILY, nftables.TABLE))

    def _previous(self, live):
        """What puts the live table back: the ruleset file we loaded when the table is still what
        it loaded, else (someone else's table, or our copy gone) the listing. "" when there is
        no table."""
        if live is None:
            return ""
        kept = self.host.loaded()
        body = nftables.table_body(kept)
        if body is not None and nftables.normalise(body, self.host.protocols) == \
                nftables.normalise(live, self.host.protocols):
            return kept
        return REMOVE + live

    def apply(self):
        self.host.load(REMOVE if self.desired is None else self.ruleset)


RESTORE_COMMANDS = """
# nftables: our table inet microseg, in one transaction.
nft -f "$dir/microseg.nft"
"""


class NftablesBackend(Backend):
    """Our own table inet microseg, both families."""

    spec = SPEC
    tools = ("nft",)

    def change(self, remove):
        if remove and not self.has_tools():
            return no_change
        host = NftablesHost(self.runner)
        self.result["families"] = ["ipv4", "ipv6"]
        return lambda: NftablesChange(host, self.files["microseg.nft"], remove)

    def revert(self, change):
        """Back to our table as it was before this change (none: the table goes)."""
        previous = change.previous
        runner = self.runner

        def revert():
            undo = NftablesChange(NftablesHost(runner), previous, remove=not previous)
            undo.apply()
            return undo.actions
        return revert

    def restore_commands(self, jump_comment):
        return RESTORE_COMMANDS
