# -*- coding: utf-8 -*-
# Copyright: contributors to microseg.cluster_firewall
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The boot-time restore: a script that loads the kept rulesets (our objects only) and, where
systemd runs, a unit that runs it before the network and the cluster components start.

Netfilter starts empty at boot; kubelet, kube-proxy, Calico and Docker then add their rules
again. Ours must be back before them (the unit orders itself before their units), and the
script only restores our own objects: it never reads or writes anyone else's.
host_firewall writes these files (kept_files.py) and enables the unit (enable()).
"""

from __future__ import annotations

import os
import shlex

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.node import kept_files

UNIT_NAME = "microseg-firewall.service"
UNIT_PATH = "/etc/systemd/system/" + UNIT_NAME
SCRIPT_MODE = 0o755
UNIT_MODE = 0o644
HEADER = "# Written by microseg.cluster_firewall (host_firewall); its next run overwrites a change made here."

# The cluster components our rules must be back before (the ones not present are ignored).
# ufw and firewalld come after us too: ufw appends its jumps to INPUT, so ours is first without a
# race between our script's look at INPUT and ufw's own restore
# kube-proxy.service and crio.service: kube-proxy as a unit of its own (the "hard way" installs) and CRI-O.
BEFORE_UNITS = ("network-pre.target", "shutdown.target", "kubelet.service", "kube-proxy.service", "containerd.service",
                "crio.service", "docker.service",
                "k3s.service", "k3s-agent.service", "rke2-server.service", "rke2-agent.service", "ufw.service",
                "firewalld.service")

# The units that load a whole saved ruleset at boot and wipe what is there before: Debian's
# nftables.service (/etc/nftables.conf starts with `flush ruleset`), netfilter-persistent.service
# (iptables-restore without --noflush flushes each table it restores), EL's iptables.service and
# ip6tables.service (the same), and ipset.service, which loads the saved sets before them. Started in parallel
# with ours they may run after it and take our rules out again, so ours comes after them (where they
# are present and enabled; After= on a unit that is not there is ignored). They all come before
# network-pre.target, as ours does.
AFTER_UNITS = ("local-fs.target", "systemd-modules-load.service", "nftables.service", "netfilter-persistent.service",
               "iptables.service", "ip6tables.service", "ipset.service")


def script(keep_dir, restore_commands):
    """The restore script's text: a common head, then the backend's own commands
    (Backend.restore_commands) that load the kept files from $dir."""
    head = ("#!/bin/sh\n%s\n# Restore microseg.cluster_firewall's own rules at boot, before the cluster components start.\n"
            "# Nothing else is read or written (the kept files hold only our objects, never kube-proxy's\n"
            "# dynamic rules).\nset -eu\ndir=%s\n" % (HEADER, shlex.quote(keep_dir)))
    return head + restore_commands


def unit(script_path, keep_dir):
    """The systemd unit's text: runs the script once, early, before the network and the cluster."""
    return "\n".join([
        HEADER,
        "[Unit]",
        "Description=microseg.cluster_firewall: restore the node's whitelist before the cluster starts",
        "Documentation=file://%s" % keep_dir,
        "DefaultDependencies=no",     # not held back behind basic.target: we must come before the network
        "Wants=network-pre.target",
        "Before=%s" % " ".join(BEFORE_UNITS),
        "After=%s" % " ".join(AFTER_UNITS),
        "Conflicts=shutdown.target",
        "",
        "[Service]",
        "Type=oneshot",
        "RemainAfterExit=yes",
        "ExecStart=%s" % script_path,
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
    ])


def files(keep_dir, script_path, restore_commands, systemd):
    """{path: (text, mode)}: the script, and the unit where systemd runs."""
    wanted = {script_path: (script(keep_dir, restore_commands), SCRIPT_MODE)}
    if systemd:
        wanted[UNIT_PATH] = (unit(script_path, keep_dir), UNIT_MODE)
    return wanted


def systemd_running(runtime_dir="/run/systemd/system"):
    """Whether systemd is the init (what sd_booted() checks)."""
    return os.path.isdir(runtime_dir)


def is_enabled(run):
    """run(argv) -> (rc, stdout, stderr). `systemctl is-enabled` prints "enabled" for an enabled unit."""
    _rc, out, _err = run(["systemctl", "is-enabled", UNIT_NAME])
    return out.strip() == "enabled"


def enable_actions(reload, once_confirmed=False):
    """The lines host_firewall reports for enabling the unit (reload: its file was written)."""
    suffix = kept_files.ONCE_CONFIRMED if once_confirmed else ""
    return (["reload systemd's unit files" + suffix] if reload else []) + ["enable %s at boot%s" % (UNIT_NAME, suffix)]


def enable(run, reload):
    """Make systemd read the unit (when its file was written) and enable it; the action lines."""
    commands = ([["systemctl", "daemon-reload"]] if reload else []) + [["systemctl", "enable", UNIT_NAME]]
    for argv in commands:
        rc, out, err = run(argv)
        if rc != 0:
            raise kept_files.KeepError("%s failed (rc %d): %s (the live rules are applied, but a reboot would not "
                                       "restore them)" % (" ".join(argv), rc, (err or out).strip()))
    return enable_actions(reload)


def ours(path):
    """Whether the file at path is one this collection wrote (its header says so): state=absent
    removes the script and the unit only then, never a file of the same name someone else put there."""
    try:
        with open(path) as handle:
            return HEADER in handle.read(4096)
    except (IOError, OSError):
        return False


def disable_steps(run):
    """The step that disables the unit where systemd runs and it is enabled (none: [])."""
    if not systemd_running() or not is_enabled(run):
        return []

    def disable():
        rc, out, err = run(["systemctl", "disable", UNIT_NAME])
        if rc != 0:
            raise kept_files.KeepError("systemctl disable %s failed (rc %d): %s" % (UNIT_NAME, rc, (err or out).strip()))
    return [kept_files.Step("disable %s at boot" % UNIT_NAME, disable)]
