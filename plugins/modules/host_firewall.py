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
  - "firewalld backend, firewalld on its nftables backend: our table C(inet microseg) as
    with the nftables backend, plus the firewalld objects we own - the policy C(microseg) (ingress
    C(ANY), egress C(HOST), priority -30000, target C(CONTINUE)) whose rich rules accept exactly
    what the plan admits in state C(block) (none in C(monitor) and C(alert), which never accept),
    and its ipsets C(microseg-*). They are written to firewalld's permanent
    configuration (C(/etc/firewalld/policies/microseg.xml), C(/etc/firewalld/ipsets/microseg-*.xml))
    and made live with one C(firewall-cmd --reload), only when they change; the run fails before
    anything changes when firewalld's runtime holds changes a reload would lose. firewalld policies
    with a lower priority that drop or reject traffic to the host are reported."
  - "firewalld backend, firewalld on its iptables backend: there a reload flushes every iptables
    table (kube-proxy's, Docker's and the CNI's rules), so the same openings are firewalld direct
    rules instead of a policy - a jump from C(INPUT) (firewalld's C(INPUT_direct), ahead of every
    zone) to the chain C(MSEG-INPUT) and one chain C(MSEG-*) per peer set - added to the running
    firewalld one by one without a reload and kept as our lines of C(/etc/firewalld/direct.xml)
    (the user's lines there are left as they are). Our table C(inet microseg) is the same."
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
    O(confirm_timeout) seconds. The task's action (O(auto_confirm)) then drops the connection and
    confirms over a new one, through the new rules. When that connection fails, it waits for the
    node's revert, asks the node what it put back and fails saying so; when the confirm arrives too
    late, it fails saying so too. With O(auto_confirm=false) the task returns RV(confirm_token) and a
    later task calls the module with O(state=confirm) in time."
options:
  state:
    description:
      - V(present) applies the ruleset; V(absent) removes exactly what this collection added
        (iptables - our jump, our chain, our ipsets, and with iptables-nft a C(filter) table that held
        nothing but our chain; nftables - our table; firewalld - our table, our policy and ipsets).
      - V(confirm) disarms the revert armed by a previous run with O(confirm_timeout); it fails when
        the node has already rolled back.
    type: str
    choices: [present, absent, confirm]
    default: present
  confirm_timeout:
    description:
      - Seconds the node waits for O(state=confirm) before it puts the previous rules back by
        itself. V(0) applies without a revert.
      - The module's default is V(0) (no revert); the C(whitelist) role passes its
        C(microseg_confirm_timeout), default V(120).
    type: int
    default: 0
  confirm_token:
    description: With O(state=confirm), the RV(confirm_token) the applying run returned.
    type: str
  auto_confirm:
    description:
      - With O(confirm_timeout) and a change applied, confirm in the same task over a new
        connection (the task fails when the node rolled back).
      - V(false) leaves the confirm to a later task with O(state=confirm), which must come within
        O(confirm_timeout) seconds.
      - Done by the action plugin on the controller; the module on the node ignores it.
    type: bool
    default: true
  applied_check:
    description:
      - What M(microseg.cluster_firewall.node_facts) found on the node, in this run, of the request
        host_firewall last applied there (its fact C(microseg_applied), with O(microseg.cluster_firewall.node_facts#module:keep_dir)).
      - When its digest equals the digest of this task's request (O(backend), O(variant), O(ruleset),
        O(keep_dir), O(boot_script)) and the node found its live firewall, kept files and boot restore
        holding that request, this run would change nothing - the task returns unchanged with
        RV(steady) true and runs no module on the node. Anything else runs the module as without it.
      - Only ever skips a run; nothing is applied from it. Done by the action plugin on the
        controller; the module on the node ignores it.
    type: dict
  backend:
    description: The firewall backend.
    type: str
    choices: [firewalld, iptables, nftables]
    default: iptables
  variant:
    description:
      - The iptables variant. V(auto) uses the one that already holds rules (the one kube-proxy and
        Docker use), else what plain C(iptables) is. Never mix variants on one host.
    type: str
    choices: [auto, legacy, nf_tables]
    default: auto
  ruleset:
    description:
      - The files the backend loads, rendered from the plan by
        P(microseg.cluster_firewall.firewall_ruleset#filter) - a mapping of a file name to its text.
        Each backend takes its own file names; any other key fails the task, naming the allowed ones.
      - "iptables backend - C(ipv4.rules) and C(ipv6.rules), the rulesets in C(iptables-restore) form
        (only C(*filter), C(:MICROSEG-INPUT - [0:0]), C(-A MICROSEG-INPUT ...) rules and C(COMMIT); the
        IPv6 one is skipped with a warning when the node has no IPv6), and C(ipsets), the peer sets in
        C(ipset restore) form (only C(create mseg-NAME ...) and C(add mseg-NAME CIDR) lines)."
      - "nftables backend - C(microseg.nft), the ruleset C(nft -f) loads; at the top level it may only
        hold C(table inet microseg), C(delete table inet microseg) and the table's definition."
      - "firewalld backend - C(microseg.nft) as with the nftables backend, and C(objects), our firewalld
        objects as JSON (a mapping of a path under C(/etc/firewalld) - C(policies/microseg.xml),
        C(ipsets/microseg-*.xml) - to the file's XML; any other path is refused)."
      - A missing or empty file means no rule of that file (our objects it held are removed).
    type: dict
    default: {}
  keep_dir:
    description:
      - A directory on the node where the ruleset is also kept, for a boot-time restore
        (iptables - C(ipsets), C(ipv4.rules), C(ipv6.rules); nftables and firewalld - C(microseg.nft);
        mode C(0640), the directory C(0750)). Unset keeps nothing.
      - It is created if missing and must take a new file before anything else happens, so a
        read-only or full file system fails the task with the live firewall unchanged.
      - The files are written once the live rules are final - right after applying, or with
        O(confirm_timeout) only by the O(state=confirm) call, so a rollback never leaves them holding
        the rules it undid. A file already equal (text and mode) is not rewritten.
      - With O(state=absent), the backend's kept files are removed from it, and the directory too
        when nothing else is left in it.
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
      - With O(state=absent), the unit is disabled and the script and the unit are removed - each
        only when its header says this collection wrote it.
    type: path
  lock_timeout:
    description: Seconds to wait for another run on the same node to finish.
    type: int
    default: 60
extends_documentation_fragment:
  - microseg.cluster_firewall.attributes
attributes:
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on the controller.
    support: full
    details: The action confirms the armed revert over a new connection (O(auto_confirm)).
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
# The ruleset comes from a plan: the whitelist role's plan entry point leaves each node's plan in
# the fact microseg_plan, and the firewall_ruleset filter renders it for a backend (its files).
- name: Plan this node's whitelist (nothing on the node changes)
  ansible.builtin.include_role:
    name: microseg.cluster_firewall.whitelist
    tasks_from: plan

- name: Apply it with the iptables backend, kept in /etc/microseg and restored at boot
  microseg.cluster_firewall.host_firewall:
    backend: iptables
    ruleset: "{{ microseg_plan | microseg.cluster_firewall.firewall_ruleset('iptables') }}"
    keep_dir: /etc/microseg
    boot_script: /usr/local/sbin/microseg-restore

- name: Or apply it with the nftables backend
  microseg.cluster_firewall.host_firewall:
    backend: nftables
    ruleset: "{{ microseg_plan | microseg.cluster_firewall.firewall_ruleset('nftables') }}"

# Commit-confirm in one task: the node arms a revert before the change and puts its previous rules
# back by itself unless this task confirms over a new connection within 120 s; when the new
# connection fails, the task waits for the revert and fails saying what was put back.
- name: Apply with commit-confirm
  microseg.cluster_firewall.host_firewall:
    backend: nftables
    ruleset: "{{ microseg_plan | microseg.cluster_firewall.firewall_ruleset('nftables') }}"
    confirm_timeout: 120

# Commit-confirm in three steps, to run checks of your own before the confirm.
- name: Apply, leaving the confirm to a later task
  microseg.cluster_firewall.host_firewall:
    backend: nftables
    ruleset: "{{ microseg_plan | microseg.cluster_firewall.firewall_ruleset('nftables') }}"
    confirm_timeout: 120
    auto_confirm: false
  register: applied

- name: Check that the API server still answers through the new rules (your own check)
  ansible.builtin.wait_for:
    host: "{{ inventory_hostname }}"
    port: 6443
    timeout: 30
  delegate_to: localhost

- name: Confirm (a change with no confirm within 120 s is reverted by the node)
  when: applied.confirm_token | length > 0
  microseg.cluster_firewall.host_firewall:
    state: confirm
    confirm_token: "{{ applied.confirm_token }}"

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
steady:
  description:
    - True when no module ran - O(applied_check) showed that the node holds this request already - and
      false when the module ran.
  returned: with O(state=present)
  type: bool
steady_reason:
  description: Why the module did or did not run (O(applied_check)).
  returned: with O(state=present) and O(applied_check)
  type: str
  sample: the plan differs from the one the node last applied
confirm_token:
  description:
    - The token of the armed revert, to pass to O(state=confirm). Empty when nothing changed (no
      revert is armed), in check mode, or without O(confirm_timeout).
  returned: always
  type: str
  sample: 1795474010-5f3a9c21b7e0
confirmed:
  description:
    - The revert is disarmed and the new rules stay - also when writing the held-back files failed
      afterwards (the task then fails saying so).
  returned: with O(state=confirm), and after a confirm done by O(auto_confirm)
  type: bool
rolled_back:
  description: What the node's revert did when the confirm came too late or could not reach the node.
  returned: when the node rolled back
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.base import BackendError
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.hosts import backend_for
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.registry import DEFAULT, NAMES
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.node import host_firewall_run, kept_files


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type="str", choices=["present", "absent", "confirm"], default="present"),
            backend=dict(type="str", choices=list(NAMES), default=DEFAULT),
            variant=dict(type="str", choices=["auto", "legacy", "nf_tables"], default="auto"),
            ruleset=dict(type="dict", default={}),
            lock_timeout=dict(type="int", default=60),
            confirm_timeout=dict(type="int", default=0),
            confirm_token=dict(type="str", no_log=False),
            auto_confirm=dict(type="bool", default=True),
            applied_check=dict(type="dict"),
            keep_dir=dict(type="path"),
            boot_script=dict(type="path"),
        ),
        required_by={"boot_script": "keep_dir"},
        supports_check_mode=True,
    )
    params = module.params
    result = host_firewall_run.new_result(params["backend"])
    if params["confirm_timeout"] < 0:
        module.fail_json(msg="confirm_timeout: %d is negative; allowed: 0 (no revert) or the seconds to wait"
                         % params["confirm_timeout"], **result)
    try:
        if params["state"] == "confirm":
            result["confirmed"] = False
            if not module.check_mode:
                host_firewall_run.confirm_run(module, params, result)
        else:
            backend = backend_for(params["backend"], module, params, result)
            host_firewall_run.apply(module, params, result, backend)
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
