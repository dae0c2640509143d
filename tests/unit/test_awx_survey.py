# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""awx/site-survey.json asks for what the whitelist role takes, with its choices and defaults."""
from __future__ import annotations

import json
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
SURVEY = json.loads((ROOT / "awx" / "site-survey.json").read_text())
OPTIONS = yaml.safe_load((ROOT / "roles" / "whitelist" / "meta" / "argument_specs.yml").read_text())[
    "argument_specs"]["main"]["options"]
# the lists come as JSON text (playbooks/tasks/json_lists.yml turns them into the role's lists)
AS_JSON = {"microseg_whitelist_json": "microseg_whitelist", "microseg_blacklist_json": "microseg_blacklist"}


def test_every_question_is_a_role_variable_with_its_choices_and_default():
    assert SURVEY["spec"]
    for question in SURVEY["spec"]:
        variable = AS_JSON.get(question["variable"], question["variable"])
        option = OPTIONS[variable]
        if question["type"] == "multiplechoice":
            assert question["choices"] == option["choices"], variable
            assert question["default"] == option["default"], variable
        else:
            assert question["type"] == "textarea" and option["type"] == "list"
            assert json.loads(question["default"]) == option["default"], variable
        assert variable in question["question_description"]


def test_the_json_variables_are_the_ones_site_yml_reads():
    site = (ROOT / "playbooks" / "site.yml").read_text() + (ROOT / "playbooks" / "tasks" / "json_lists.yml").read_text()
    for variable in AS_JSON:
        assert variable in site
