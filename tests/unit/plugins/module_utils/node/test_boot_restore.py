# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The boot restore: the unit brings our rules back before the cluster components start, the
script restores our objects only, and the unit is enabled only when it is not (the restore
itself is exercised on lab nodes in tests/integration/test_site_lab.py)."""
from __future__ import annotations

import pytest

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.node import boot_restore, kept_files
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.hosts import BACKENDS

JUMP = "microseg: whitelist, after the Kubernetes/CNI rules"


def commands(name, variant=None):
    """A backend's restore commands, as host_firewall gets them once the variant is known."""
    return BACKENDS[name](None, {}, {"variant": variant}).restore_commands(JUMP)


def directive(text, name):
    return [line.split("=", 1)[1].split() for line in text.splitlines() if line.startswith(name + "=")]


def test_the_restore_runs_before_kubelet_the_container_runtimes_and_the_network():
    unit = boot_restore.unit("/usr/local/sbin/microseg-restore", "/etc/microseg")
    before = directive(unit, "Before")[0]
    for name in ("network-pre.target", "kubelet.service", "kube-proxy.service", "containerd.service", "crio.service",
                 "docker.service",
                 "k3s.service", "rke2-server.service"):
        assert name in before, name
    assert directive(unit, "DefaultDependencies") == [["no"]]        # not held back behind basic.target
    assert directive(unit, "Type") == [["oneshot"]]
    assert directive(unit, "ExecStart") == [["/usr/local/sbin/microseg-restore"]]
    assert directive(unit, "WantedBy") == [["multi-user.target"]]


def test_the_restore_runs_after_the_units_that_load_a_saved_ruleset_and_flush_what_is_there():
    """nftables.service (`flush ruleset`), netfilter-persistent.service and EL's iptables.service and
    ip6tables.service (iptables-restore without --noflush) would wipe our rules if they ran after us
    (issue 34, item 6): the unit is ordered after them, and still after the file systems and modules."""
    unit = boot_restore.unit("/usr/local/sbin/microseg-restore", "/etc/microseg")
    after = directive(unit, "After")
    assert len(after) == 1, unit
    for name in ("nftables.service", "netfilter-persistent.service", "iptables.service", "ip6tables.service",
                 "ipset.service", "local-fs.target", "systemd-modules-load.service"):
        assert name in after[0], name
    # an ordering both ways would be a cycle systemd breaks by dropping a unit at boot
    assert not set(after[0]) & set(directive(unit, "Before")[0])
    # After= only orders: it must not pull those units in where the user has not enabled them
    assert not [line for line in unit.splitlines() if line.startswith(("Requires=", "BindsTo="))]
    assert directive(unit, "Wants") == [["network-pre.target"]]


@pytest.mark.parametrize("variant, tool", [("legacy", "legacy"), ("nf_tables", "nft")])
def test_the_iptables_script_restores_our_sets_chain_and_jump_with_the_variant_in_use(variant, tool):
    script = boot_restore.script("/etc/micro seg", commands("iptables", variant))
    assert script.startswith("#!/bin/sh\n") and "set -eu\n" in script
    assert "dir='/etc/micro seg'\n" in script                        # quoted for the shell
    assert "variant=%s\n" % tool in script
    assert "jump='%s'\n" % JUMP in script
    assert 'ipset restore -exist < "$dir/ipsets"' in script
    assert '--noflush < "$file"' in script                           # never a flush of anyone's rules


def test_the_nftables_script_loads_our_table_only():
    script = boot_restore.script("/etc/microseg", commands("nftables"))
    assert 'nft -f "$dir/microseg.nft"' in script and "iptables" not in script


def test_the_unit_is_wanted_only_where_systemd_runs(tmp_path):
    with_systemd = boot_restore.files("/etc/microseg", "/usr/local/sbin/microseg-restore",
                                      commands("iptables", "legacy"), True)
    assert with_systemd[boot_restore.UNIT_PATH][1] == 0o644
    assert with_systemd["/usr/local/sbin/microseg-restore"][1] == 0o755
    assert list(boot_restore.files("/etc/microseg", "/sbin/r", commands("nftables"), False)) == ["/sbin/r"]
    assert not boot_restore.systemd_running(str(tmp_path / "missing"))
    assert boot_restore.systemd_running(str(tmp_path))


class Systemctl(object):
    def __init__(self, state, rc=0):
        self.state, self.rc, self.calls = state, rc, []

    def __call__(self, argv):
        self.calls.append(argv)
        if argv[1] == "is-enabled":
            return (0 if self.state == "enabled" else 1), self.state + "\n", ""
        return self.rc, "", "Failed to enable unit: Access denied" if self.rc else ""


def test_enabling_reloads_only_a_written_unit_and_a_failure_names_the_command():
    assert boot_restore.is_enabled(Systemctl("enabled"))
    assert not boot_restore.is_enabled(Systemctl("disabled"))
    systemctl = Systemctl("disabled")
    assert boot_restore.enable(systemctl, reload=True) == [
        "reload systemd's unit files", "enable microseg-firewall.service at boot"]
    assert systemctl.calls == [["systemctl", "daemon-reload"], ["systemctl", "enable", "microseg-firewall.service"]]
    systemctl = Systemctl("disabled")
    boot_restore.enable(systemctl, reload=False)
    assert systemctl.calls == [["systemctl", "enable", "microseg-firewall.service"]]
    with pytest.raises(kept_files.KeepError, match=r"systemctl enable microseg-firewall.service failed \(rc 1\): "
                       r"Failed to enable unit: Access denied \(the live rules are applied, but a reboot"):
        boot_restore.enable(Systemctl("disabled", rc=1), reload=False)
    assert boot_restore.enable_actions(False, once_confirmed=True) == [
        "enable microseg-firewall.service at boot, once confirmed"]
