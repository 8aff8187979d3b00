"""Hostile input through the console entry point: every case ends with exit 1 or 2 and a one-line reason, never a
traceback, and leaves nothing half-written. (A start on #15's test over every command and option.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT, index, payload, publish, unique
from helpers.tools import closed_port


def hub(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hub_client.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, **(env or {})}, timeout=120)


def assert_clean_failure(proc: subprocess.CompletedProcess[str], code: int, words: str) -> None:
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out, out
    assert proc.returncode == code, out
    assert words in out, out


CASES = [
    (["pull", "convnxt_tiny"], {}, 1, "did you mean 'convnext_tiny'"),
    (["info", ""], {}, 1, "no model named ''"),
    (["verify", "no_such_model"], {}, 1, "no model named"),
    (["cache", "rm", "no_such_model"], {}, 1, "no model named"),
    (["predict", "convnext_tiny", "x.jpg", "--topk", "0"], {}, 2, "--topk"),
    (["eval", "convnext_tiny", "--dataset", "sklearn-digits", "--batch-size", "0"], {}, 2, "--batch-size"),
    (["eval", "convnext_tiny", "--dataset", "sklearn-digits", "--limit", "-3"], {}, 2, "--limit"),
    (["search", "convnext", "--limit", "0"], {}, 2, "--limit"),
    (["list", "--min-top1", "-5"], {}, 2, "--min-top1"),
    (["lint", "cards", "--timeout", "0"], {}, 2, "--timeout"),
    (["lint", "/no/such/cards"], {}, 2, "no such file or directory"),
    (["lint", "cards", "-o", "/no/such/folder/report.txt"], {}, 2, "cannot write the report"),
    (["index", "/no/such/folder"], {}, 2, "not a directory"),
    (["index", "--remove", "/no/such/folder"], {}, 2, "is not a source"),
    (["update", "--from", "ftp://127.0.0.1/hub.tar.gz"], {}, 1, "scheme is not fetched"),
    (["update", "--from", "http://127.0.0.1:{port}/hub.tar.gz"], {"HUB_TIMEOUT": "soon"}, 2,
     "HUB_TIMEOUT='soon' is not a number"),
    (["update", "--from", "http://127.0.0.1:{port}/hub.tar.gz"], {"HUB_RETRIES": "-1"}, 2,
     "HUB_RETRIES='-1' is below 0"),
    (["update", "--from", "http://127.0.0.1:{port}/hub.tar.gz"], {}, 1, "cannot reach 127.0.0.1"),
    (["list"], {"HUB_REGISTRY": "/etc/hostname/registry.db"}, 1, "cannot open the registry"),
    (["pull", "convnext_tiny"], {"HUB_OFFLINE": "maybe"}, 2, "HUB_OFFLINE='maybe' is neither yes nor no"),
    (["index", ""], {}, 2, "an empty PATH names no folder"),
    (["info", "hf:"], {}, 2, "'hf:' names no Hugging Face repo"),
    (["pull", "hf:org//name"], {}, 2, "names no Hugging Face repo"),
    (["export", "convnext_tiny", "out", "--format", "tflite"], {}, 2, "unknown export format 'tflite'"),
]


@pytest.mark.parametrize(("args", "env", "code", "words"), CASES, ids=lambda v: " ".join(v) if isinstance(v, list)
                         else None)
def test_hostile_input_is_a_message_not_a_traceback(args, env, code, words):
    port = str(closed_port())
    proc = hub(*[a.replace("{port}", port) for a in args], env=env)
    assert_clean_failure(proc, code, words)


@pytest.mark.usefixtures("net")
def test_bad_places_to_write(nginx, cards, tmp_path):
    pub = publish(nginx.root, cards, unique("places"), payload(10_000, seed=70), base=nginx.url)
    index(cards)
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    assert_clean_failure(hub("pull", pub.name, "--to", str(a_file)), 2, "cannot copy the verified files")
    assert a_file.read_text() == "not a folder" and not list(tmp_path.glob(".*.tmp"))
    home = tmp_path / "home-is-a-file"
    home.write_text("")
    proc = hub("pull", pub.name, env={"HUB_HOME": str(home), "HUB_REGISTRY": os.environ["HUB_REGISTRY"]})
    assert_clean_failure(proc, 2, "is a file, not a folder: point it at a folder")  # a setting wrong, not the disk
    listed = hub("cache", "ls", env={"HUB_HOME": str(home)})  # not taken for an empty cache
    assert_clean_failure(listed, 2, "is a file, not a folder")
    assert Path(home).read_text() == ""


def test_an_unknown_export_format_is_refused_before_any_framework_loads():
    from helpers.probe import heavy_modules_after

    assert heavy_modules_after(["export", "convnext_tiny", "out", "--format", "tflite"]) == set()
