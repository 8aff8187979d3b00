import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
from helpers import CARDS, ROOT
from helpers.probe import heavy_modules_after
from typer.testing import CliRunner

from hub_client.cli.app import app

runner = CliRunner()
BAD = "---\nlicence: mit\nmodel-index:\n  name: x\n---\n# t\n"
WARN_ONLY = "---\nlicense: mit\nfoo: 1\n---\n# t\n"


def run(*args):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def bad_card(tmp_path):
    p = tmp_path / "bad.md"
    p.write_text(BAD)
    return p


def _commands(group, prefix=()):
    for name, cmd in group.commands.items():
        yield (*prefix, name), cmd
        if hasattr(cmd, "commands"):
            yield from _commands(cmd, (*prefix, name))


def test_every_command_has_help():
    """Every command and subcommand says what it does and documents every option it takes."""
    found = list(_commands(typer.main.get_command(app)))
    assert {"lint", "list", "search", "info", "index", "pull", "verify", "predict", "eval", "cache"} <= {
        path[0] for path, _ in found}
    for path, cmd in found:
        result = run(*path, "--help")
        assert result.exit_code == 0, path
        flat = " ".join(result.output.split())
        assert f"Usage: hub {' '.join(path)}" in flat, path
        assert cmd.help and " ".join(cmd.help.split("\n\n")[0].split()) in flat, path
        for param in cmd.params:
            if param.param_type_name == "option":
                assert param.help, (path, param.name)
                assert any(opt in flat for opt in param.opts), (path, param.opts)


def test_clean_cards_exit_0():
    result = run("lint", str(CARDS))
    assert result.exit_code == 0, result.output
    assert "0 error(s)" in result.output


def test_errors_exit_1_and_text_lines(bad_card):
    result = run("lint", str(bad_card))
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert re.match(rf"{re.escape(str(bad_card))}:2:1: warning \[unknown-key\] .*did you mean 'license'", lines[0])
    assert any("[model-index-invalid]" in ln and ":4:3:" in ln for ln in lines)


def test_strict_fails_on_warnings(tmp_path):
    p = tmp_path / "w.md"
    p.write_text(WARN_ONLY)
    assert run("lint", str(p)).exit_code == 0
    assert run("lint", "--strict", str(p)).exit_code == 1


@pytest.mark.parametrize("args", [["lint", "/no/such/path"], ["lint", "--format", "xml", "cards"],
                                  ["lint", "--ignore", "no-such-rule", "cards"], ["lint"]])
def test_usage_errors_exit_2(args):
    # Through the console entry point, where HubError becomes a message and an exit code.
    proc = subprocess.run([sys.executable, "-m", "hub_client.cli", *args], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip()


def test_json_format(bad_card):
    result = run("lint", "--format", "json", str(bad_card))
    [entry] = json.loads(result.output)
    assert entry["errors"] == 1 and entry["warnings"] == 1 and entry["dialect"] == "huggingface"
    assert {d["rule"] for d in entry["diagnostics"]} == {"unknown-key", "model-index-invalid"}


def test_github_annotations(bad_card):
    out = run("lint", "--format", "github", str(bad_card)).output.splitlines()
    assert out[0].startswith(f"::warning file={bad_card},line=2,col=1,title=unknown-key::")
    assert out[1].startswith("::error ")


def test_sarif_structure(bad_card):
    from importlib.metadata import version

    doc = json.loads(run("lint", "--format", "sarif", str(bad_card)).output)
    assert doc["version"] == "2.1.0"
    run_ = doc["runs"][0]
    rules = run_["tool"]["driver"]["rules"]
    assert len(run_["results"]) == 2
    for res in run_["results"]:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
        region = res["locations"][0]["physicalLocation"]["region"]
        assert region["startLine"] >= 1 and region["startColumn"] >= 1
        assert res["level"] in ("error", "warning", "note")
    driver = run_["tool"]["driver"]
    assert driver["version"] == version("hub-registry") and driver["name"] == "hub-lint"
    assert run_["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"] == {"uri": bad_card.as_uri()}


def test_sarif_relative_paths_have_a_base(bad_card, monkeypatch):
    """A relative path is resolved by SARIF readers against SRCROOT, which must be where it was relative to."""
    monkeypatch.chdir(bad_card.parent)
    doc = json.loads(run("lint", "--format", "sarif", bad_card.name).output)
    base = doc["runs"][0]["originalUriBaseIds"]["SRCROOT"]["uri"]
    loc = doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert loc == {"uri": bad_card.name, "uriBaseId": "SRCROOT"}
    assert base == bad_card.parent.resolve().as_uri() + "/"


def test_ignore_and_output(bad_card, tmp_path):
    out = tmp_path / "report.json"
    result = run("lint", "--ignore", "model-index-invalid", "--format", "json", "-o", str(out), str(bad_card))
    assert result.exit_code == 0
    assert [d["rule"] for d in json.loads(out.read_text())[0]["diagnostics"]] == ["unknown-key"]


def test_directory_recursion_and_exclude(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "x.md").write_text(BAD)
    (tmp_path / "a" / "y.md").write_text(WARN_ONLY)
    (tmp_path / "a" / "notes.txt").write_text(BAD)
    doc = json.loads(run("lint", "--format", "json", str(tmp_path)).output)
    assert sorted(Path(e["path"]).name for e in doc) == ["x.md", "y.md"]
    doc = json.loads(run("lint", "--format", "json", "--exclude", "x.md", str(tmp_path)).output)
    assert [Path(e["path"]).name for e in doc] == ["y.md"]


@pytest.mark.parametrize("args", [["--help"], ["lint", "cards"], ["lint", "--help"], ["predict", "--help"]])
def test_cli_never_imports_heavy_frameworks(args):
    assert heavy_modules_after(args) == set()


def test_console_script_installed():
    exe = Path(sys.executable).with_name("hub")
    assert exe.exists(), "the 'hub' console script is not installed; run the README set-up command"
    proc = subprocess.run([str(exe), "lint", str(CARDS)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_version():
    from importlib.metadata import version

    result = run("--version")
    assert result.exit_code == 0 and result.output.strip() == f"hub {version('hub-registry')} (hub-registry)"


def test_linting_no_card_fails_unless_allowed(tmp_path):
    """A CI job whose paths or excludes match nothing must not pass quietly."""
    (tmp_path / "notes.txt").write_text("no card here")
    proc = subprocess.run([sys.executable, "-m", "hub_client.cli", "lint", str(tmp_path)], capture_output=True,
                          text=True, cwd=ROOT)
    assert proc.returncode == 2 and "no card found" in proc.stderr and "--allow-empty" in proc.stderr
    assert run("lint", "--allow-empty", str(tmp_path)).exit_code == 0
    (tmp_path / "a.md").write_text(WARN_ONLY)
    proc = subprocess.run([sys.executable, "-m", "hub_client.cli", "lint", str(tmp_path), "--exclude", "a.md"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2 and "once a.md were excluded" in proc.stderr


def test_exclude_takes_folder_names_and_relative_paths(tmp_path):
    for rel in ("huggingface/org__a.md", "mindspore/1.10/b.md", "mindspore/2.5/c.md", "drafts/deep/d.md"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(WARN_ONLY)

    def linted(*excludes):
        args = [a for e in excludes for a in ("--exclude", e)]
        return sorted(Path(e["path"]).name for e in json.loads(run("lint", "-f", "json", *args, str(tmp_path)).output))

    assert linted() == ["b.md", "c.md", "d.md", "org__a.md"]
    assert linted("huggingface") == ["b.md", "c.md", "d.md"]
    assert linted("mindspore/1.10/") == ["c.md", "d.md", "org__a.md"]
    assert linted("drafts", "mindspore") == ["org__a.md"]
    assert run("lint", "--exclude", "c.md", "-f", "json", str(tmp_path)).exit_code == 0


def test_shell_completion_offers_commands_and_model_names():
    """bash completion through the console script's own protocol (what the installed script runs)."""
    def complete(words: str) -> list[str]:
        env = {**os.environ, "_HUB_COMPLETE": "complete_bash", "COMP_WORDS": words,
               "COMP_CWORD": str(len(words.split()) - 1)}
        proc = subprocess.run([str(Path(sys.executable).with_name("hub"))], env=env, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.split()

    assert complete("hub ca") == ["cache"]
    assert complete("hub pull convnext_t") == ["convnext_tiny"]
    assert complete("hub info hf:efederici/") == ["hf:efederici/convnext-base-224-22k-1k-orig-cats-vs-dogs"]
    assert complete("hub cache rm convnextv2_d") == ["convnextv2_digits"]
    # the script `hub --install-completion bash` installs (the shell is named, not guessed from the parent process)
    script = subprocess.run([str(Path(sys.executable).with_name("hub"))], capture_output=True, text=True,
                            env={**os.environ, "_HUB_COMPLETE": "source_bash"})
    assert script.returncode == 0 and "_HUB_COMPLETE=complete_bash" in script.stdout


def test_list_and_info_say_which_models_load_and_on_what(tmp_path):
    """Known from the registry's row alone: no weights read, no framework (or numpy) imported."""
    from helpers import MS_CARD, index

    cards = tmp_path / "zoo"
    cards.mkdir()
    for name in ("resnet50_zoo", "convnext_small_zoo"):
        card = MS_CARD.format(name=name, link=f"https://example.com/{name}.ckpt", sha="0" * 64)
        (cards / f"{name}.md").write_text(card.replace("backbone-name: convnext", f"backbone-name: {name[:6]}"))
    index(cards)
    rows = {r["name"]: r["loads_on"] for r in json.loads(run("list", "--json").stdout)}
    assert rows["resnet50_zoo"] == [] and rows["convnext_small_zoo"] == ["mindspore", "torch"]
    loadable = {r["name"] for r in json.loads(run("list", "--loadable", "--json").stdout)}
    assert "convnext_small_zoo" in loadable and "resnet50_zoo" not in loadable
    assert "loads on" in run("list").stdout
    info = json.loads(run("info", "resnet50_zoo", "--json").stdout)
    assert info["loads_on"] == []
    assert "no loader builds it" in run("info", "resnet50_zoo").stdout
    assert heavy_modules_after(["list", "--loadable"]) == set()


def test_search_says_why_a_result_matched(tmp_path):
    """The same reason the mirror's page shows: a card found by its text says where, the words in brackets."""
    from helpers import MS_CARD, index

    cards = tmp_path / "found"
    cards.mkdir()
    for name, body in (("zebra_net", ""), ("horse_net", "Trained beside zebra_net on striped horses.")):
        card = MS_CARD.format(name=name, link=f"https://example.com/{name}.ckpt", sha="0" * 64)
        (cards / f"{name}.md").write_text(card + body + "\n")
    index(cards)
    rows = {r["name"]: r["matched"] for r in json.loads(run("search", "zebra", "--json").stdout)}
    assert rows == {"zebra_net": None, "horse_net": "card: # horse_net Trained beside [zebra]_net on striped horses."}
    shown = run("search", "zebra").stdout
    assert "matched in" in shown and "beside zebra_net" in shown
