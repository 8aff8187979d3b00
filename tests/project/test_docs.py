"""The README, CI script and pre-commit hook say what the code does."""

import re

import yaml
from helpers import ROOT

from registry.card.diagnostics import RULES

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_lists_every_rule_with_its_severity():
    table = dict(re.findall(r"^\| `([a-z0-9-]+)` \| (error|warning|info) \|", README, re.M))
    assert table == {r.id: r.severity.value for r in RULES.values()}


def test_ci_runs_exactly_the_readme_commands():
    blocks = re.findall(r"```shell\n(.*?)\n```", README.split("## Set up and test", 1)[1], re.S)
    setup, tests = blocks[0].strip(), blocks[1].strip()
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert setup in ci and tests in ci
    assert ci.index(setup) < ci.index(tests)


def test_pre_commit_hook():
    [hook] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "hub-lint" and hook["entry"] == "hub lint" and hook["language"] == "python"
    assert re.search(hook["files"], "cards/x.md") and not re.search(hook["files"], "x.py")
