# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible loads every filter file of the collection for any one of its filters, in every worker
process (one per host and task). So loading them all imports nothing heavy: what a filter needs
from module_utils is imported when it runs."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

FILTERS = Path(__file__).resolve().parents[3].parent / "plugins" / "filter"
PREFIX = "ansible_collections.microseg.cluster_firewall.plugins."
# exception classes only: the filters catch the planner's errors
ALLOWED = {PREFIX + "module_utils", PREFIX + "module_utils.errors"}


def modules_after(names, then=""):
    """The collection's module_utils in sys.modules after importing these filter files (and running `then`)."""
    code = ("import sys\n" + "".join("import %sfilter.%s\n" % (PREFIX, name) for name in names) + then
            + "print('\\n'.join(sorted(m for m in sys.modules if m.startswith(%r))))" % (PREFIX + "module_utils"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": ":".join(sys.path)})
    return set(out.stdout.split())


def test_loading_every_filter_file_imports_no_module_utils_but_the_errors():
    names = sorted(path.stem for path in FILTERS.glob("*.py") if path.stem != "__init__")
    assert len(names) >= 8
    assert modules_after(names) <= ALLOWED


def test_negative_control_a_filter_that_runs_imports_what_it_needs():
    ran = modules_after(["firewall_ruleset"], then="%sfilter.firewall_ruleset.firewall_backends('all')\n" % PREFIX)
    assert PREFIX + "module_utils.backends.registry" in ran


# Each filter with small arguments, in a fresh process, so that its own imports run (in this test
# process the planner is imported already): a result or the filter's own error, never a NameError
# or an ImportError.
CALLS = {
    "cluster_inventory": "cluster_inventory({}, {'all': []})",
    "firewall_ruleset": "backend_packages('nftables'), firewall_backends('all'), firewall_ruleset({'rules': []}, 'bogus')",
    "flow_matrix": "flow_verdicts(flow_matrix({}, {'hosts': {}}), {})",
    "node_profile": "node_profile('n1', [])",
    "observe_report": "observe_report({}, {}, {'all': []}, 0)",
    "plan_table": "plan_table({'name': 'n1'})",
    "whitelist_plan": "whitelist_plan({}, {})",
    "whitelist_plans": "whitelist_plans([], {'hosts': {}})",
}


def test_each_filter_runs_its_own_imports():
    names = sorted(path.stem for path in FILTERS.glob("*.py") if path.stem != "__init__")
    assert sorted(CALLS) == names
    for name, call in CALLS.items():
        code = ("from ansible.errors import AnsibleFilterError\n"
                "from %sfilter.%s import *\n"
                "try:\n    %s\nexcept AnsibleFilterError:\n    pass\n" % (PREFIX, name, call))
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              env={"PYTHONPATH": ":".join(sys.path)}, check=False)
        assert proc.returncode == 0, (name, proc.stderr[-800:])
