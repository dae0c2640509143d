# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The contract every registered backend keeps (backends/registry.py, each one's spec.py and
host.py), run through host_firewall's own run (node/host_firewall_run.py) on a simulated node
(fake_node.py): render a plan; apply it (kept files = the rendered ones); apply again (no change);
apply a changed plan (a change); revert that change as commit-confirm would (the earlier state
back, exactly); remove (nothing of ours left: the node as it was before the first apply, the
neighbours' chain, set, table and zone untouched throughout); remove again (no change).

Parametrized over the registry: a new backend is run through it without a line here. The
negative controls below show that the contract fails a backend that breaks it."""
from __future__ import annotations

import os
from types import SimpleNamespace

import pytest

from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends import hosts, registry
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.base import BackendError, no_change
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.firewalld.host import FirewalldHost
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.backends.nftables import host as nftables_host
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.node import host_firewall_run
from ansible_collections.microseg.cluster_firewall.plugins.module_utils.planner.plan import compile_plan

from fake_node import FakeNode

INVENTORY = {"hosts": {"cp1": {"addresses": ["10.89.0.11", "fd00::11"]}, "w1": {"addresses": ["10.89.0.21", "fd00::21"]},
                       "w2": {"addresses": ["10.89.0.22"]}},
             "groups": {"kube_control_plane": ["cp1"], "kube_node": ["w1", "w2"]}}
FIRST = {"mode": "host", "state": "block"}
SECOND = {"mode": "host", "state": "block", "whitelist": [{"port": 8080, "from": ["10.1.0.0/16"]}]}


def plan(policy):
    return compile_plan({"name": "cp1", "features": ["flannel_vxlan"]}, INVENTORY, dict(policy))


class Contract(object):
    """One backend on one simulated node, driven as host_firewall drives it."""

    def __init__(self, name, tmp_path, monkeypatch, backend_class=None):
        self.name, self.keep_dir = name, str(tmp_path / "keep")
        self.backend_class = backend_class or hosts.BACKENDS[name]
        self.node = FakeNode(tmp_path / "firewalld")
        # the node's paths: nftables' copy of what it loaded, firewalld's directory and D-Bus
        monkeypatch.setattr(nftables_host, "LOADED", str(tmp_path / "run" / "nftables-loaded.nft"))
        monkeypatch.setattr(FirewalldHost.__init__, "__defaults__", (self.node.firewalld_dir, lambda: self.node.bus))
        self.armed = []

    def run(self, step, ruleset=None, state="present", confirm_timeout=0):
        params = {"state": state, "backend": self.name, "variant": "auto", "ruleset": ruleset or {},
                  "lock_timeout": 1, "confirm_timeout": confirm_timeout, "keep_dir": self.keep_dir, "boot_script": None}
        result = host_firewall_run.new_result(self.name)
        try:
            backend = self.backend_class(self.node, params, result)
            host_firewall_run.apply(self.node, params, result, backend, lock=lambda timeout: Unlock(),
                                    arm=lambda token, timeout, actions, revert, take_lock, on_confirm=None:
                                    self.armed.append(revert))
        except BackendError as error:
            raise AssertionError("%s, step %r: %s %s" % (self.name, step, error, error.details))
        return result

    def kept(self):
        if not os.path.isdir(self.keep_dir):
            return {}
        return dict((name, open(os.path.join(self.keep_dir, name)).read()) for name in os.listdir(self.keep_dir)
                    if name != "applied.json")


class Unlock(object):
    def close(self):
        pass


def check_contract(contract):
    """Every step of the contract; AssertionError naming the backend and the step that broke it."""
    name, node = contract.name, contract.node
    spec = registry.spec_of(name)
    pristine, neighbours = node.state(), node.neighbours()
    first, second = spec.render(plan(FIRST)), spec.render(plan(SECOND))
    assert sorted(first) == sorted(spec.files), "%s: render gives %s, its spec says %s" % (name, sorted(first), spec.files)
    assert first != second, "%s: the changed plan renders the same files" % name

    applied = contract.run("apply", first)
    assert applied["changed"] and applied["actions"], "%s, step 'apply': no change on a node without ours" % name
    assert node.state() != pristine, "%s, step 'apply': the node is as it was" % name
    assert contract.kept() == dict((file, first[file]) for file in spec.kept), "%s, step 'apply': kept files" % name
    after_first = node.state()

    again = contract.run("re-apply", first)
    assert not again["changed"] and again["actions"] == [], "%s, step 're-apply' changed: %s" % (name, again["actions"])
    assert node.state() == after_first, "%s, step 're-apply': the node changed" % name

    changed = contract.run("change", second, confirm_timeout=30)
    assert changed["changed"] and node.state() != after_first, "%s, step 'change': nothing changed" % name
    assert contract.armed, "%s, step 'change': no revert armed" % name
    contract.armed.pop()()
    assert node.state() == after_first, "%s, step 'revert': the earlier state is not back" % name
    back = contract.run("re-apply after the revert", first)
    assert not back["changed"], "%s, step 're-apply after the revert' changed: %s" % (name, back["actions"])

    removed = contract.run("remove", state="absent")
    assert removed["changed"], "%s, step 'remove': nothing removed" % name
    left = node.state()
    assert left == pristine, "%s, step 'remove': ours left on the node: %s" % (name, _difference(pristine, left))
    assert contract.kept() == {} and not os.path.exists(contract.keep_dir), "%s, step 'remove': kept files" % name
    assert node.neighbours() == neighbours, "%s: the neighbours' rules changed" % name
    assert not contract.run("remove again", state="absent")["changed"], "%s, step 'remove again' changed" % name


def _difference(before, after):
    return dict((key, {"before": before[key], "after": after[key]}) for key in before if before[key] != after[key])


@pytest.mark.parametrize("name", registry.NAMES)
def test_every_backend_keeps_the_contract(name, tmp_path, monkeypatch):
    check_contract(Contract(name, tmp_path, monkeypatch))


@pytest.mark.parametrize("name", registry.NAMES)
def test_a_ruleset_key_the_backend_does_not_take_fails_naming_the_allowed_ones(name, tmp_path, monkeypatch):
    contract = Contract(name, tmp_path, monkeypatch)
    with pytest.raises(AssertionError, match="ruleset: 'rules.txt' is not a file of the %s backend; allowed: %s"
                       % (name, ", ".join(registry.spec_of(name).files))):
        contract.run("apply", {"rules.txt": "x"})
    assert contract.node.commands == []          # refused before the node is asked anything


# ------------------------------------------------------------------ the negative controls

class Restless(object):
    """A backend whose every change after the first run reports a change (its re-apply is never
    "no change")."""

    def __init__(self, base):
        self.base, self.runs = base, 0

    def __call__(self, module, params, result):
        backend = self.base(module, params, result)
        self.runs += 1
        if self.runs > 1:
            make = backend.change

            def change(remove):
                compute = make(remove)

                def restless():
                    found = compute()
                    return SimpleNamespace(changed=True, actions=list(found.actions) + ["rewrite it all again"],
                                           reported=found.reported, before=found.before, after=found.after,
                                           apply=found.apply)
                return restless
            backend.change = change
        return backend


class Forgetful(object):
    """A backend whose removal removes nothing."""

    def __init__(self, base):
        self.base = base

    def __call__(self, module, params, result):
        backend = self.base(module, params, result)
        make = backend.change
        backend.change = lambda remove: no_change if remove else make(remove)
        return backend


@pytest.mark.parametrize("name", registry.NAMES)
@pytest.mark.parametrize("broken, step", [(Restless, "re-apply"), (Forgetful, "remove")])
def test_a_backend_that_breaks_the_contract_fails_it(name, broken, step, tmp_path, monkeypatch):
    contract = Contract(name, tmp_path, monkeypatch, backend_class=broken(hosts.BACKENDS[name]))
    with pytest.raises(AssertionError, match="%s, step '%s" % (name, step)):
        check_contract(contract)
