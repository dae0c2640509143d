# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The files kept for the boot restore: checked writable first, rewritten only when they differ."""
from __future__ import annotations

import errno
import os
import stat

import pytest

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.node import kept_files
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.hosts import BACKENDS

PARAMS = {"ipv4.rules": "*filter\n:MICROSEG-INPUT - [0:0]\nCOMMIT\n", "ipsets": "create mseg-a hash:net\n",
          "microseg.nft": "table inet microseg {\n}\n"}


def mode(path):
    return stat.S_IMODE(os.stat(str(path)).st_mode)


def test_each_backend_keeps_its_own_files():
    assert kept_files.rulesets(BACKENDS["iptables"].spec.kept, PARAMS, "/etc/microseg") == {
        "/etc/microseg/ipv4.rules": (PARAMS["ipv4.rules"], 0o640), "/etc/microseg/ipv6.rules": ("", 0o640),
        "/etc/microseg/ipsets": (PARAMS["ipsets"], 0o640)}
    assert kept_files.rulesets(BACKENDS["nftables"].spec.kept, PARAMS, "/d") == {"/d/microseg.nft": (PARAMS["microseg.nft"], 0o640)}


def test_check_mode_touches_nothing_and_says_what_it_would_do(tmp_path):
    directory = tmp_path / "microseg"
    assert kept_files.texts(kept_files.prepare_steps(str(directory))) == ["create directory %s" % directory]
    assert not directory.exists()
    files = kept_files.rulesets(BACKENDS["iptables"].spec.kept, PARAMS, str(directory))
    assert kept_files.stale(files) == sorted(files)


def test_written_once_then_nothing_to_do(tmp_path):
    directory = str(tmp_path / "microseg")
    files = kept_files.rulesets(BACKENDS["iptables"].spec.kept, PARAMS, directory)
    assert kept_files.carry_out(kept_files.prepare_steps(directory)) == ["create directory %s" % directory]
    assert mode(directory) == 0o750
    paths = kept_files.stale(files)
    assert kept_files.write(files, paths) == ["write %s for the boot restore" % path for path in paths]
    assert sorted(os.listdir(directory)) == ["ipsets", "ipv4.rules", "ipv6.rules"]     # no probe or temporary left
    assert open(os.path.join(directory, "ipv4.rules")).read() == PARAMS["ipv4.rules"]
    assert mode(os.path.join(directory, "ipsets")) == 0o640
    assert kept_files.carry_out(kept_files.prepare_steps(directory)) == []
    assert kept_files.stale(files) == []


def test_each_file_gets_its_own_mode_and_a_directory_of_no_given_mode_is_left_alone(tmp_path):
    script = str(tmp_path / "sbin" / "restore")
    assert kept_files.carry_out(kept_files.prepare_steps(str(tmp_path / "sbin"), mode=None)) == [
        "create directory %s" % (tmp_path / "sbin")]
    os.chmod(str(tmp_path / "sbin"), 0o700)
    assert kept_files.carry_out(kept_files.prepare_steps(str(tmp_path / "sbin"), mode=None)) == []
    assert mode(tmp_path / "sbin") == 0o700
    kept_files.write({script: ("#!/bin/sh\n", 0o755)}, [script])
    assert mode(script) == 0o755 and kept_files.stale({script: ("#!/bin/sh\n", 0o755)}) == []


def test_a_changed_text_or_mode_is_rewritten_and_only_that_file(tmp_path):
    files = kept_files.rulesets(BACKENDS["iptables"].spec.kept, PARAMS, str(tmp_path))
    kept_files.write(files, sorted(files))
    os.chmod(str(tmp_path / "ipsets"), 0o644)
    changed = dict(files)
    changed[str(tmp_path / "ipv4.rules")] = ("*filter\nCOMMIT\n", 0o640)
    assert kept_files.stale(changed) == [str(tmp_path / "ipsets"), str(tmp_path / "ipv4.rules")]


def test_a_directory_that_takes_no_file_fails_before_anything_naming_it(tmp_path, monkeypatch):
    # a full disk (root ignores mode bits, so the error is raised where the probe file is made)
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), kwargs.get("dir"))
    monkeypatch.setattr(kept_files.tempfile, "mkstemp", full)
    directory = tmp_path / "microseg"
    with pytest.raises(kept_files.KeepError, match=r"cannot keep the boot restore files in %s: .*"
                       r"No space left on device.*the live firewall was not changed" % directory):
        kept_files.carry_out(kept_files.prepare_steps(str(directory)))
    with pytest.raises(kept_files.KeepError, match=r"No space left.*a reboot would not restore them"):
        kept_files.write({str(directory / "ipsets"): ("", 0o640)}, [str(directory / "ipsets")])
