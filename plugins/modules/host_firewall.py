#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: host_firewall
short_description: Apply the collection's whitelist to a node's netfilter, and nothing else
version_added: 0.1.0
author: microseg.cluster_firewall maintainers (@microseg)
description:
  - Makes the node's live firewall hold exactly the given ruleset in the objects this collection
    owns, and touches nothing else - the rules of kube-proxy, kubelet, Calico, flannel and Docker
    (C(KUBE-*), C(cali-*), C(FLANNEL*), C(DOCKER*)) are never flushed, edited, reordered or duplicated.
  - "iptables backend (legacy and nf_tables variants, IPv4 and IPv6): owns the chain
    C(MICROSEG-INPUT), one jump to it from C(INPUT), and the ipsets C(mseg-*). The chain is rewritten
    with one C(iptables-restore --noflush) transaction after a C(--test) dry run, so it is never
    half-loaded. Peer sets are updated with an atomic C(ipset swap)."
  - "nftables backend: owns the table C(inet microseg) only (sets and an input chain at priority
    C(filter + 10)), replaced or removed in one C(nft -f) transaction after a C(nft -c) dry run.
    In nftables every base chain sees the packet, so this table admits the Kubernetes/CNI flows
    itself (they are in the plan), with established/related and DNAT'ed connections."
  - The jump from C(INPUT) goes after every Kubernetes/CNI jump (kube-proxy and Calico insert theirs at
    the top at any time). A run finds it duplicated, missing or above one of theirs and moves it, in
    the same transaction. A CNI jump that lands after ours (Calico in append mode) is reported.
  - Idempotent - desired and live are compared in the form C(iptables-save) or C(nft list table)
    prints them (counters ignored, set members sorted); nothing is run when they are equal. Check mode stops right before applying
    and still reports the diff of our objects.
  - After applying, the live state is read back and must equal the desired one, otherwise the task fails.
  - Concurrent runs on one node are serialised with a lock file.
  - "Commit-confirm (O(confirm_timeout) > 0): before a change is applied, our current objects are
    snapshotted and a detached process on the node is armed to put them back after
    O(confirm_timeout) seconds. The controller must reconnect and call the module with
    O(state=confirm) and the returned RV(confirm_token) in time; otherwise the node rolls back by
    itself, and the confirm call (once the node is reachable again) fails saying what was rolled back."
options:
  state:
    description:
      - V(present) applies the ruleset; V(absent) removes exactly what this collection added
        (iptables - our jump, our chain, our ipsets, and with iptables-nft a C(filter) table that held
        nothing but our chain; nftables - our table).
      - V(confirm) disarms the revert armed by a previous run with O(confirm_timeout); it fails when
        the node has already rolled back.
    type: str
    choices: [present, absent, confirm]
    default: present
  confirm_timeout:
    description:
      - Seconds the node waits for O(state=confirm) before it puts the previous rules back by
        itself. V(0) applies without a revert.
    type: int
    default: 0
  confirm_token:
    description: With O(state=confirm), the RV(confirm_token) the applying run returned.
    type: str
  backend:
    description: The firewall backend.
    type: str
    choices: [iptables, nftables]
    default: iptables
  variant:
    description:
      - The iptables variant. V(auto) uses the one that already holds rules (the one kube-proxy and
        Docker use), else what plain C(iptables) is. Never mix variants on one host.
    type: str
    choices: [auto, legacy, nf_tables]
    default: auto
  ipv4_rules:
    description:
      - The IPv4 ruleset in C(iptables-restore) form, as rendered by the role's template with
        P(microseg.cluster_firewall.firewall_ruleset#filter). It may only hold C(*filter),
        C(:MICROSEG-INPUT - [0:0]), C(-A MICROSEG-INPUT ...) rules and C(COMMIT).
      - Empty means no IPv4 rules (our IPv4 chain and jump are removed).
    type: str
    default: ""
  ipv6_rules:
    description:
      - The IPv6 ruleset, same form as O(ipv4_rules). Skipped with a warning when the node has no IPv6.
    type: str
    default: ""
  ipsets:
    description:
      - The peer sets in C(ipset restore) form, only C(create mseg-NAME ...) and C(add mseg-NAME CIDR) lines.
    type: str
    default: ""
  nft_ruleset:
    description:
      - For the nftables backend, the ruleset C(nft -f) loads, as rendered by
        P(microseg.cluster_firewall.firewall_ruleset#filter). At the top level it may only hold
        C(table inet microseg), C(delete table inet microseg) and the table's definition.
      - Empty (or with no table definition) means no rule, and our table is removed.
    type: str
    default: ""
  keep_dir:
    description:
      - A directory on the node where the ruleset is also kept, for a boot-time restore
        (iptables - C(ipsets), C(ipv4.rules), C(ipv6.rules); nftables - C(microseg.nft); mode C(0640),
        the directory C(0750)). Unset keeps nothing.
      - It is created if missing and must take a new file before anything else happens, so a
        read-only or full file system fails the task with the live firewall unchanged.
      - The files are written once the live rules are final - right after applying, or with
        O(confirm_timeout) only by the O(state=confirm) call, so a rollback never leaves them holding
        the rules it undid. A file already equal (text and mode) is not rewritten.
      - Ignored with O(state=absent).
    type: path
  boot_script:
    description:
      - With O(keep_dir), also install the boot-time restore - a script at this path (mode C(0755))
        that loads the kept ruleset, our objects only, and where systemd runs (C(/run/systemd/system)),
        the unit C(/etc/systemd/system/microseg-firewall.service) that runs it before the network,
        kubelet, containerd and Docker start, enabled.
      - Written like the kept files - checked before any change, held back until the confirm, only
        when they differ. RV(boot_unit) is empty where systemd does not run - then run the
        script from the node's boot sequence.
      - Ignored with O(state=absent).
    type: path
  lock_timeout:
    description: Seconds to wait for another run on the same node to finish.
    type: int
    default: 60
extends_documentation_fragment:
  - microseg.cluster_firewall.attributes
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
    details: Before and after of our objects only (our ipsets, our chain, our jumps).
requirements:
  - iptables (the variant in use) and ipset, or nftables
"""

EXAMPLES = r"""
- name: Apply the whitelist
  microseg.cluster_firewall.host_firewall:
    ipv4_rules: "{{ lookup('ansible.builtin.template', 'iptables-ipv4.rules.j2') }}"
    ipv6_rules: "{{ lookup('ansible.builtin.template', 'iptables-ipv6.rules.j2') }}"
    ipsets: "{{ lookup('ansible.builtin.template', 'ipsets.j2') }}"
    keep_dir: /etc/microseg
    boot_script: /usr/local/sbin/microseg-restore

- name: Apply the whitelist with the nftables backend
  microseg.cluster_firewall.host_firewall:
    backend: nftables
    nft_ruleset: "{{ lookup('ansible.builtin.template', 'nftables.nft.j2') }}"

- name: Remove everything the collection added
  microseg.cluster_firewall.host_firewall:
    state: absent
"""

RETURN = r"""
backend:
  description: The backend used.
  returned: always
  type: str
  sample: iptables
variant:
  description: The iptables variant used.
  returned: with the iptables backend
  type: str
  sample: nf_tables
families:
  description: The address families handled.
  returned: always
  type: list
  elements: str
  sample: [ipv4, ipv6]
actions:
  description: What was (or in check mode would be) done, one line each.
  returned: always
  type: list
  elements: str
  sample: ["create ipset mseg-control_plane-v4 (3 entries)", "ipv4: rewrite chain MICROSEG-INPUT (14 rules)",
           "write /etc/microseg/ipv4.rules for the boot restore"]
jump_comment:
  description: The comment of our jump from C(INPUT) (the boot-time restore script recreates it).
  returned: always
  type: str
  sample: "microseg: whitelist, after the Kubernetes/CNI rules"
boot_unit:
  description:
    - The boot unit that runs O(boot_script), enabled. Empty without O(boot_script), or where systemd
      does not run (run the script from the node's boot sequence).
  returned: always
  type: str
  sample: /etc/systemd/system/microseg-firewall.service
reported:
  description: Things seen that are not ours to fix, such as a CNI jump placed after ours.
  returned: always
  type: list
  elements: str
diff:
  description: Before and after of our objects, with C(--diff).
  returned: when diff mode is on
  type: dict
confirm_token:
  description:
    - The token of the armed revert, to pass to O(state=confirm). Empty when nothing changed (no
      revert is armed), in check mode, or without O(confirm_timeout).
  returned: always
  type: str
  sample: 1795474010-5f3a9c21b7e0
confirmed:
  description:
    - With O(state=confirm), the revert is disarmed and the new rules stay - also when writing the
      held-back files failed afterwards (the task then fails saying so).
  returned: with O(state=confirm)
  type: bool
rolled_back:
  description: With O(state=confirm), what the node's revert did when the confirm came too late.
  returned: when the node rolled back
  type: list
  elements: str
"""

import fcntl
import os
import time
from types import SimpleNamespace

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.microseg.cluster_firewall.plugins.module_utils import boot_restore, confirm, kept_files
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends import iptables
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.iptables_host import (
    BackendError,
    IptablesChange,
    IptablesHost,
    parse_ipsets,
    parse_ruleset,
)
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.nftables_host import (
    REMOVE as NFT_REMOVE,
    NftablesChange,
    NftablesHost,
)

LOCK_FILE = "/run/microseg.lock"


def take_lock(timeout):
    """Serialise runs on one node; a second run waits, then fails naming the lock."""
    handle = open(LOCK_FILE, "a")
    deadline = time.time() + timeout
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return handle
        except (IOError, OSError):
            if time.time() >= deadline:
                handle.close()
                raise BackendError("another microseg run holds %s (waited %ds); try again when it ends"
                                   % (LOCK_FILE, timeout))
            time.sleep(0.5)


def no_change():
    """state=absent on a node without that backend's tools: none of our objects can be there."""
    return SimpleNamespace(changed=False, actions=[], reported=[], before=[], after=[])


def iptables_change(module, params, remove, result):
    desired_rules = {"ipv4": parse_ruleset(params["ipv4_rules"], "ipv4"),
                     "ipv6": parse_ruleset(params["ipv6_rules"], "ipv6")}
    desired_sets = parse_ipsets(params["ipsets"])
    if remove and not module.get_bin_path("iptables") and not module.get_bin_path("ipset"):
        return no_change
    host = IptablesHost(module, params["variant"])
    result["variant"] = host.variant
    if not host.ipv6_available():
        if desired_rules["ipv6"]:
            module.warn("the node has no IPv6 (/proc/net/if_inet6 is missing): the IPv6 rules are skipped")
        del desired_rules["ipv6"]
        desired_sets = dict((name, members) for name, members in desired_sets.items() if not name.endswith("-v6"))
    result["families"] = sorted(desired_rules)
    return lambda: IptablesChange(host, desired_rules, desired_sets, remove)


def nftables_change(module, params, remove, result):
    if remove and not module.get_bin_path("nft"):
        return no_change
    host = NftablesHost(module)
    result["families"] = ["ipv4", "ipv6"]
    return lambda: NftablesChange(host, params["nft_ruleset"], remove)


def iptables_revert(module, change):
    """A revert to the objects as they were before this change (none: our chain, jump and sets go)."""
    variant = change.host.variant
    rules, sets = change.snapshot()

    def revert():
        host = IptablesHost(module, variant)
        undo = IptablesChange(host, rules, sets, remove=False)
        undo.apply()
        return undo.actions
    return revert


def nftables_revert(module, change):
    before = change.before or None

    def revert():
        host = NftablesHost(module)
        undo = NftablesChange(host, NFT_REMOVE + before if before else "", remove=before is None)
        undo.apply()
        return undo.actions
    return revert


def confirm_run(module, params, result):
    """state=confirm: disarm the revert, or say what it did when it came first."""
    if not params["confirm_token"]:
        raise BackendError("state=confirm needs confirm_token (the token the applying run returned)")
    lock = take_lock(params["lock_timeout"])     # the revert runs under the same lock: no race
    try:
        confirmed, outcome = confirm.disarm(params["confirm_token"])
        if confirmed:
            # the rules stay from here on, even if keeping the files below fails
            result.update(changed=True, confirmed=True, actions=["confirmed: the revert armed by token %s is disarmed"
                                                                 % params["confirm_token"]])
            if outcome:
                # what the applying run held back until now (a rollback would have dropped it)
                result["actions"] += write_boot_files(module, outcome)
    finally:
        lock.close()
    if confirmed:
        return
    if "actions" in outcome:
        result["rolled_back"] = outcome["actions"]
        raise BackendError("the confirm came too late: the node put its previous rules back by itself (%s)"
                           % ("; ".join(outcome["actions"]) or "nothing to undo"), rolled_back=outcome["actions"])
    if "time" in outcome:
        raise BackendError("the confirm came too late, and the node's revert to its previous rules failed: %s"
                           % outcome.get("error"))
    raise BackendError("cannot confirm token %s: %s" % (params["confirm_token"], outcome.get("error")))


def boot_files(params, result):
    """What keep_dir and boot_script want on the node: ({path: (text, mode)}, [(directory, mode)], systemd)."""
    directory = params["keep_dir"]
    wanted = kept_files.rulesets(params["backend"], params, directory)
    directories = [(directory, kept_files.DIR_MODE)]
    systemd = False
    if params["boot_script"]:
        systemd = boot_restore.systemd_running()
        boot = boot_restore.files(params["backend"], directory, params["boot_script"], result.get("variant"),
                                  iptables.JUMP_COMMENT, systemd)
        wanted.update(boot)
        directories += [(os.path.dirname(path), None) for path in sorted(boot) if os.path.dirname(path) != directory]
        result["boot_unit"] = boot_restore.UNIT_PATH if systemd else ""
    return wanted, directories, systemd


def boot_files_pending(boot_files_due):
    """Whether boot files wait to be written or the unit to be enabled (a unit to reload is among the files)."""
    return bool(boot_files_due["files"] or boot_files_due["enable"])


def write_boot_files(module, boot_files_due):
    """Write the files held back ({"files": {path: (text, mode)}, "enable", "reload"}) and enable the unit."""
    files = dict((path, tuple(value)) for path, value in boot_files_due["files"].items())
    actions = kept_files.write(files, sorted(files))
    if boot_files_due["enable"] or boot_files_due["reload"]:
        actions += boot_restore.enable(module.run_command, boot_files_due["reload"])
    return actions


def write_or_announce_boot_files(module, boot_files_due, confirm_token):
    """Keep now, or say what waits for the confirm (or, in check mode, what would be done)."""
    if not boot_files_pending(boot_files_due):
        return []
    if confirm_token or module.check_mode:
        after_confirm = bool(confirm_token)
        return ([kept_files.action(path, once_confirmed=after_confirm) for path in sorted(boot_files_due["files"])]
                + (boot_restore.enable_actions(boot_files_due["reload"], after_confirm)
                   if boot_files_due["enable"] or boot_files_due["reload"] else []))
    return write_boot_files(module, boot_files_due)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type="str", choices=["present", "absent", "confirm"], default="present"),
            backend=dict(type="str", choices=["iptables", "nftables"], default="iptables"),
            variant=dict(type="str", choices=["auto", "legacy", "nf_tables"], default="auto"),
            ipv4_rules=dict(type="str", default=""),
            ipv6_rules=dict(type="str", default=""),
            ipsets=dict(type="str", default=""),
            nft_ruleset=dict(type="str", default=""),
            lock_timeout=dict(type="int", default=60),
            confirm_timeout=dict(type="int", default=0),
            confirm_token=dict(type="str", no_log=False),
            keep_dir=dict(type="path"),
            boot_script=dict(type="path"),
        ),
        required_by={"boot_script": "keep_dir"},
        supports_check_mode=True,
    )
    params = module.params
    remove = params["state"] == "absent"
    result = dict(changed=False, actions=[], reported=[], families=[], backend=params["backend"],
                  jump_comment=iptables.JUMP_COMMENT, confirm_token="", boot_unit="")
    if params["confirm_timeout"] < 0:
        module.fail_json(msg="confirm_timeout: %d is negative; allowed: 0 (no revert) or the seconds to wait"
                         % params["confirm_timeout"], **result)
    if params["state"] == "confirm":
        result["confirmed"] = False
        try:
            if not module.check_mode:
                confirm_run(module, params, result)
        except BackendError as error:
            result.update(error.details)
            module.fail_json(msg=str(error), **result)
        except kept_files.KeepError as error:
            module.fail_json(msg=str(error), **result)
        module.exit_json(**result)
    keeping = bool(params["keep_dir"]) and not remove
    try:
        make_change = (nftables_change if params["backend"] == "nftables" else iptables_change)(
            module, params, remove, result)
        wanted, directories, systemd = boot_files(params, result) if keeping else ({}, [], False)
        lock = None if module.check_mode else take_lock(params["lock_timeout"])
        try:
            change = make_change()
            result.update(changed=change.changed, actions=list(change.actions), reported=change.reported)
            if module._diff:
                result["diff"] = {"before": "".join(change.before), "after": "".join(change.after)}
            boot_files_due = {"files": {}, "enable": False, "reload": False}
            if keeping:
                # before any live change: a node that cannot keep the rules must not get them
                prepared = []
                for directory, mode in directories:
                    prepared += kept_files.prepare(directory, module.check_mode, mode)
                stale = kept_files.stale(wanted)
                boot_files_due = {"files": dict((path, wanted[path]) for path in stale),
                        "enable": systemd and not boot_restore.is_enabled(module.run_command),
                        "reload": boot_restore.UNIT_PATH in stale}     # systemd must read a new unit file
                result["actions"] += prepared
                result["changed"] = change.changed or bool(prepared) or boot_files_pending(boot_files_due)
            if change.changed and not module.check_mode:
                if params["confirm_timeout"] and not remove:
                    token = confirm.new_token()
                    revert = (nftables_revert if params["backend"] == "nftables" else iptables_revert)(module, change)
                    confirm.arm(token, params["confirm_timeout"], change.actions, revert,
                                lambda: take_lock(params["lock_timeout"] + params["confirm_timeout"]),
                                on_confirm=boot_files_due if boot_files_pending(boot_files_due) else None)
                    result["confirm_token"] = token
                change.apply()
                again = make_change()
                if again.changed:
                    raise BackendError("the live firewall differs from the ruleset right after applying it: %s"
                                       % "; ".join(again.actions), before="".join(again.before),
                                       after="".join(again.after))
            result["actions"] += write_or_announce_boot_files(module, boot_files_due, result["confirm_token"])
        finally:
            if lock is not None:
                lock.close()
    except BackendError as error:
        result.update(error.details)
        module.fail_json(msg=str(error), **result)
    except kept_files.KeepError as error:
        module.fail_json(msg=str(error), **result)
    for line in result["reported"]:
        module.warn(line)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
