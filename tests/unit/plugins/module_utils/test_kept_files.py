# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rulesets kept for the boot restore: checked writable first, rewritten only when they differ."""
from __future__ import annotations

import errno
import os
import stat

import pytest

from ansible_collections.microseg.cluster_firewall.plugins.module_utils import kept_files

PARAMS = {"ipv4_rules": "*filter\n:MICROSEG-INPUT - [0:0]\nCOMMIT\n", "ipv6_rules": "", "ipsets": "create mseg-a hash:net\n",
          "nft_ruleset": "table inet microseg {\n}\n"}


def mode(path):
    return stat.S_IMODE(os.stat(str(path)).st_mode)


def test_each_backend_keeps_its_own_files():
    assert kept_files.desired_files("iptables", PARAMS) == {
        "ipv4.rules": PARAMS["ipv4_rules"], "ipv6.rules": "", "ipsets": PARAMS["ipsets"]}
    assert kept_files.desired_files("nftables", PARAMS) == {"microseg.nft": PARAMS["nft_ruleset"]}


def test_check_mode_touches_nothing_and_says_what_it_would_do(tmp_path):
    directory = tmp_path / "microseg"
    assert kept_files.prepare(str(directory), check_mode=True) == ["create directory %s" % directory]
    assert not directory.exists()
    files = kept_files.desired_files("iptables", PARAMS)
    assert kept_files.stale(str(directory), files) == ["ipsets", "ipv4.rules", "ipv6.rules"]


def test_written_once_then_nothing_to_do(tmp_path):
    directory = str(tmp_path / "microseg")
    files = kept_files.desired_files("iptables", PARAMS)
    assert kept_files.prepare(directory, check_mode=False) == ["create directory %s" % directory]
    assert mode(directory) == 0o750
    names = kept_files.stale(directory, files)
    assert kept_files.write(directory, files, names) == [
        "keep %s/%s for the boot restore" % (directory, name) for name in names]
    assert sorted(os.listdir(directory)) == ["ipsets", "ipv4.rules", "ipv6.rules"]     # no probe or temporary left
    assert open(os.path.join(directory, "ipv4.rules")).read() == PARAMS["ipv4_rules"]
    assert mode(os.path.join(directory, "ipsets")) == 0o640
    assert kept_files.prepare(directory, check_mode=False) == []
    assert kept_files.stale(directory, files) == []


def test_a_changed_text_or_mode_is_rewritten_and_only_that_file(tmp_path):
    directory = str(tmp_path)
    files = kept_files.desired_files("iptables", PARAMS)
    kept_files.write(directory, files, sorted(files))
    os.chmod(os.path.join(directory, "ipsets"), 0o644)
    changed = dict(files, **{"ipv4.rules": "*filter\nCOMMIT\n"})
    assert kept_files.stale(directory, changed) == ["ipsets", "ipv4.rules"]


def test_a_directory_that_takes_no_file_fails_before_anything_naming_it(tmp_path, monkeypatch):
    # a full disk (root ignores mode bits, so the error is raised where the probe file is made)
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), kwargs.get("dir"))
    monkeypatch.setattr(kept_files.tempfile, "mkstemp", full)
    directory = tmp_path / "microseg"
    with pytest.raises(kept_files.KeepError, match=r"cannot keep the rulesets in %s for the boot restore: .*"
                       r"No space left on device.*the live firewall was not changed" % directory):
        kept_files.prepare(str(directory), check_mode=False)
    with pytest.raises(kept_files.KeepError, match=r"No space left.*a reboot would not restore them"):
        kept_files.write(str(directory), {"ipsets": ""}, ["ipsets"])
