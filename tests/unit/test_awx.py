# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""awx/: the surveys ask only for what their playbook takes, typed as the playbook takes it (read
from the argument specs), and the job templates (awx/job-templates.yml, awx.awx modules) name
existing surveys, project playbooks and module options. Nothing here talks to a controller."""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
AWX = ROOT / "awx"
COLLECTION = "microseg.cluster_firewall."
# the question types of AWX's survey_spec API
SURVEY_TYPES = {"text", "textarea", "password", "integer", "float", "multiplechoice", "multiselect"}
TEMPLATES_FILE = yaml.safe_load((AWX / "job-templates.yml").read_text())
TEMPLATES = TEMPLATES_FILE[0]["vars"]["microseg_awx_templates"]
SURVEY_FILES = sorted(path.name for path in AWX.glob("*-survey.json"))


def role_options(role, entry_point):
    specs = yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    return dict(specs[entry_point].get("options") or {})


def spec_of(task):
    return dict(task["ansible.builtin.validate_argument_spec"]["argument_spec"])


def playbook_variables(name):
    """{variable: option} that playbooks/NAME takes: the argument specs of the role entry points it
    includes, its own validate_argument_spec tasks (defaults from the play's vars), and the JSON
    texts of tasks/json_lists.yml (option of the list they replace, with "json": True)."""
    taken, json_texts = {}, []
    for play in yaml.safe_load((ROOT / "playbooks" / name).read_text()):
        for task in play.get("tasks", []):
            include = task.get("ansible.builtin.include_role") or task.get("ansible.builtin.import_role")
            if include:
                assert include["name"].startswith(COLLECTION)
                taken.update(role_options(include["name"][len(COLLECTION):], include.get("tasks_from", "main")))
            if "ansible.builtin.validate_argument_spec" in task:
                for variable, option in spec_of(task).items():
                    taken[variable] = dict(option, **({"default": play["vars"][variable]}
                                                      if variable in play.get("vars", {}) else {}))
            if task.get("ansible.builtin.include_tasks") == "tasks/json_lists.yml":
                json_tasks = yaml.safe_load((ROOT / "playbooks" / "tasks" / "json_lists.yml").read_text())
                json_texts += list(spec_of(json_tasks[0]))
    for variable in json_texts:
        taken[variable] = dict(taken[variable[:-len("_json")]], json=True)
    return taken


def check_question(question, option):
    variable = question["variable"]
    # the description names the variable the answer sets (for a JSON text: the list it replaces)
    assert (variable[:-len("_json")] if option.get("json") else variable) in question["question_description"], variable
    if question["type"] == "multiplechoice":
        if option.get("type") == "bool":
            # a survey has no boolean question: "true"/"false" text, which the bool check converts
            assert sorted(question["choices"]) == ["false", "true"], variable
            assert question["default"] == str(option["default"]).lower(), variable
        else:
            assert question["choices"] == option["choices"], variable
            assert question["default"] == option["default"], variable
    elif question["type"] == "textarea":
        # a list as JSON text (tasks/json_lists.yml parses it before anything changes)
        assert option.get("json") and option["type"] == "list", variable
        assert json.loads(question["default"]) == option["default"], variable
    elif question["type"] == "text":
        # a str, or one item of a list of str (the planner takes a single string as a one-item list)
        assert option["type"] in ("str", "path") or (option["type"] == "list" and option.get("elements") == "str"), variable
        if option["type"] in ("str", "path") and "default" in option:
            assert question["default"] == option["default"], variable
    elif question["type"] == "integer":
        assert option["type"] == "int", variable
    else:
        raise AssertionError("%s: no check for a %s question" % (variable, question["type"]))


@pytest.mark.parametrize("template", TEMPLATES, ids=[template["playbook"] for template in TEMPLATES])
def test_every_question_is_a_variable_of_the_playbook_with_its_type_and_choices(template):
    survey = json.loads((AWX / template["survey"]).read_text())
    assert survey["name"] and survey["description"] and survey["spec"]
    taken = playbook_variables(template["playbook"])
    variables = [question["variable"] for question in survey["spec"]]
    assert len(variables) == len(set(variables))
    for question in survey["spec"]:
        assert {"question_name", "question_description", "variable", "type", "required"} <= set(question)
        assert question["type"] in SURVEY_TYPES and isinstance(question["required"], bool)
        assert question["variable"] in taken, "%s: %s is not a variable of playbooks/%s" % (
            template["survey"], question["variable"], template["playbook"])
        check_question(question, taken[question["variable"]])


def test_apply_and_audit_ask_for_the_management_cidr():
    """The next job comes from another address: without the jobs' range in microseg_management_cidrs
    it is locked out (tests/integration/test_awx_ee_lab.py). The audit shows the plan site.yml
    would apply, so it asks the same questions."""
    site, audit = (json.loads((AWX / name).read_text())["spec"] for name in ("site-survey.json", "audit-survey.json"))
    cidr = [question for question in site if question["variable"] == "microseg_management_cidrs"]
    assert cidr and cidr[0]["required"]
    assert audit == site


def test_the_job_templates_name_existing_surveys_and_playbooks():
    """(test_awx_project.py checks the project's wrappers, which the tarball leaves out.)"""
    assert sorted(template["survey"] for template in TEMPLATES) == SURVEY_FILES
    for template in TEMPLATES:
        assert (ROOT / "playbooks" / template["playbook"]).is_file()


def tasks_by_module():
    play = TEMPLATES_FILE[0]
    assert play["hosts"] == "localhost" and play["connection"] == "local"
    found = {}
    for task in play["tasks"]:
        modules = [key for key in task if key.startswith("awx.awx.")]
        assert len(modules) == 1, task
        found[modules[0]] = task
    return found


def test_the_job_templates_use_the_execution_environment_project_and_surveys():
    tasks = tasks_by_module()
    assert sorted(tasks) == ["awx.awx.execution_environment", "awx.awx.job_template", "awx.awx.project"]
    ee = tasks["awx.awx.execution_environment"]["awx.awx.execution_environment"]
    project = tasks["awx.awx.project"]["awx.awx.project"]
    template = tasks["awx.awx.job_template"]
    assert project["default_environment"] == ee["name"]
    assert template["awx.awx.job_template"]["execution_environment"] == ee["name"]
    assert template["awx.awx.job_template"]["project"] == project["name"]
    assert template["awx.awx.job_template"]["playbook"] == "{{ item.playbook }}"
    assert template["awx.awx.job_template"]["survey_enabled"] is True
    assert template["awx.awx.job_template"]["survey_spec"] == "{{ lookup('ansible.builtin.file', item.survey) | from_json }}"
    assert template["loop"] == "{{ microseg_awx_templates }}"


def test_the_awx_modules_take_these_options():
    """The options exist in the awx.awx modules (ansible-doc; the ansible package of
    requirements-dev.txt bundles awx.awx). The modules are not run: they need a controller."""
    if importlib.util.find_spec("ansible_collections.awx.awx") is None:
        pytest.skip("awx.awx is not installed")
    tasks = tasks_by_module()
    proc = subprocess.run([str(Path(sys.executable).parent / "ansible-doc"), "-j"] + sorted(tasks), capture_output=True,
                          text=True, check=True, timeout=120, env=dict(os.environ, ANSIBLE_NOCOLOR="1"))
    docs = json.loads(proc.stdout)
    for module, task in tasks.items():
        options = docs[module]["doc"]["options"]
        names = set(options) | set(alias for option in options.values() for alias in option.get("aliases", []))
        assert set(task[module]) <= names, (module, set(task[module]) - names)
        for name, value in task[module].items():
            if "choices" in options.get(name, {}) and "{{" not in str(value):
                assert value in options[name]["choices"], (module, name, value)
