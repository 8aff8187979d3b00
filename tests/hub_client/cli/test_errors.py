"""Library errors state facts; the CLI adds what to run next, from one table (``hub_client/cli/_errors.py``)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT

from hub_client.cli._errors import HINTS, hint_for, message
from registry.errors import (
    CheckpointError,
    DamagedFileError,
    DeviceUnavailableError,
    HubError,
    InvalidCardError,
    NoLoaderError,
    RegistryError,
    UnknownModelError,
    UnsafeURLError,
    UsageError,
)

#: What only the CLI knows: its commands and its flags.
CLI_WORDS = ("`hub ", "hub lint", "hub list", "hub search", "hub index", "hub info", "--allow-http", "--device",
             "--backend")

EXAMPLES: list[HubError] = [
    UnknownModelError("convnxt_tiny"),
    InvalidCardError("m", "cards/m.md", ["required key 'asset' is missing"]),
    UnsafeURLError("http://example.org/a.ckpt", "plain http can be altered in transit; use https", plain_http=True),
    RegistryError("the registry at /x/registry.db is unusable (file is not a database)"),
    DeviceUnavailableError("cuda:1", ["cpu"], "PyTorch"),
    NoLoaderError("m", "resnet", []),
    DamagedFileError("/c/m.ckpt", expected="a" * 64, actual="b" * 64, what="sha256", name="m"),
    CheckpointError("/c/m.ckpt", "the file ends inside a record header: truncated"),
]


@pytest.mark.parametrize("error", EXAMPLES, ids=lambda e: type(e).__name__)
def test_library_message_is_facts_and_the_cli_adds_the_hint(error):
    assert not any(w in str(error) for w in CLI_WORDS), str(error)
    hint = hint_for(error)
    assert hint and any(w in hint for w in CLI_WORDS)
    assert message(error) == f"{error}; {hint}"


def test_every_hint_in_the_table_is_exercised():
    assert {cls for cls, _ in HINTS} == {type(e) for e in EXAMPLES}


def test_a_checkpoint_that_does_not_fit_points_at_the_card_not_num_classes():
    """`num_classes` is a load_model argument, not a CLI option: the CLI must not suggest it."""
    error = CheckpointError("/c/m.ckpt", missing=["head.weight"])
    assert "num_classes" not in message(error) and "hub info" in message(error)
    assert "cannot be read" in str(CheckpointError("/c/m.ckpt", "truncated")) and "does not match" in str(error)


def test_no_hint_when_the_facts_say_it_all():
    assert hint_for(UnknownModelError("convnxt_tiny", ["convnext_tiny"])) is None  # did-you-mean is the hint
    assert hint_for(UnsafeURLError("ftp://x/a", "the ftp scheme is not fetched; only https is")) is None
    err = UsageError("--topk must be at least 1, got 0")
    assert message(err) == str(err)


def _strings_outside_docstrings(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = {id(node.body[0].value) for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body
            and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
            and id(n) not in docs]


def test_no_library_message_names_a_cli_command():
    """Only hub_client/cli may speak of `hub ...` commands and flags in what it prints."""
    offenders = []
    for path in sorted((ROOT / "registry").rglob("*.py")) + sorted((ROOT / "hub_client").rglob("*.py")):
        if "cli" in path.relative_to(ROOT).parts or path.name == "migrations.py":  # shipped SQL, never edited
            continue
        offenders += [f"{path.relative_to(ROOT)}: {s!r}" for s in _strings_outside_docstrings(path)
                      if any(w in s for w in CLI_WORDS)]
    assert offenders == []


def test_the_console_entry_point_prints_fact_then_hint(tmp_path, monkeypatch):
    monkeypatch.setenv("HUB_REGISTRY", str(tmp_path / "r.db"))
    proc = subprocess.run([sys.executable, "-m", "hub_client.cli", "info", "zzqx_not_a_model"], capture_output=True,
                          text=True, cwd=ROOT)
    assert proc.returncode == 1
    assert proc.stderr.strip() == "error: no model named 'zzqx_not_a_model' in the registry; see `hub list` or " \
                                  "`hub search`"
