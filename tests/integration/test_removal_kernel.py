# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""state: absent on the iptables backend leaves none of our ipsets, the temporary ones a killed
or failed swap left (mseg-*-new) included, and a second removal then has nothing to do
(issue 34, 7). Real iptables and ipset in a throwaway network namespace (both are per namespace);
the machine's own firewall is never touched."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.iptables import render as iptables
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.plan import compile_plan

from conftest import ROOT, require_lab

INVENTORY = {"hosts": {"cp1": {"addresses": ["10.89.0.11"]}, "w1": {"addresses": ["10.89.0.21"]}},
             "groups": {"kube_control_plane": ["cp1"], "kube_node": ["w1"]}}

# In the namespace: apply the plan as host_firewall does, leave a temporary set as a swap killed
# between its create and its destroy does, then remove twice; print what each removal said and
# the ipsets left.
SCRIPT = r"""
import json, os, shutil, subprocess, sys
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.iptables.host import IptablesBackend

class Module(object):
    def get_bin_path(self, name, required=False):
        return shutil.which(name)
    def run_command(self, argv, data=None, binary_data=False, environ_update=None):
        proc = subprocess.run(argv, input=data, capture_output=True, text=True,
                              env=dict(os.environ, **(environ_update or {})))
        return proc.returncode, proc.stdout, proc.stderr
    def warn(self, text):
        pass

params = json.load(sys.stdin)
def run(state):
    backend = IptablesBackend(Module(), dict(params, variant="auto"), {})
    change = backend.change(state == "absent")()
    if change.changed:
        change.apply()
    return {"changed": change.changed, "actions": change.actions}

present = run("present")
subprocess.run(["ipset", "create", "mseg-control_plane-v4-new", "hash:net", "family", "inet"], check=True)
subprocess.run(["ipset", "add", "mseg-control_plane-v4-new", "10.89.0.99"], check=True)
first = run("absent")
second = run("absent")
left = subprocess.run(["ipset", "list", "-n"], capture_output=True, text=True, check=True).stdout.split()
print(json.dumps({"present": present, "first": first, "second": second, "left": left}))
"""


def test_removal_destroys_a_temporary_set_a_killed_swap_left():
    require_lab()
    plan = compile_plan({"name": "cp1", "features": []}, INVENTORY, {"mode": "host", "state": "block"})
    params = {"ruleset": {"ipv4.rules": iptables.ruleset_file(plan, "ipv4"),
                          "ipv6.rules": iptables.ruleset_file(plan, "ipv6"), "ipsets": iptables.ipsets_file(plan)}}
    env = dict(os.environ, PYTHONPATH=str(ROOT / ".collections"))
    proc = subprocess.run(["unshare", "-n", sys.executable, "-c", SCRIPT], input=json.dumps(params), env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["present"]["changed"]
    assert "destroy ipset mseg-control_plane-v4-new" in result["first"]["actions"]
    assert [name for name in result["left"] if name.startswith("mseg-")] == []
    assert result["second"] == {"changed": False, "actions": []}
