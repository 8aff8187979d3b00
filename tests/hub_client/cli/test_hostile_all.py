"""Every command, every parameter, hostile values: each run ends with exit 0, 1 or 2 and a message, never an
exception out of ``main`` (what a user sees as a traceback), and leaves no half-written file behind.

The commands and their parameters are read from the app itself, so a new command or option is covered the day
it is added. Runs in-process through the console entry point (``main``), offline and with every host but
loopback refused, so no case reaches the network; the network-down cases use ports where nothing listens.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main
from helpers.tools import closed_port

from hub_client.cli.app import app, main

#: What every required parameter gets when another parameter is the one under test.
BASE: dict[str, list[str]] = {
    "lint": ["{cards}"],
    "search": ["convnext"],
    "info": ["convnext_tiny"],
    "pull": ["convnext_tiny"],
    "verify": ["convnext_tiny"],
    "predict": ["convnextv2_digits", "{file}"],
    "eval": ["convnextv2_digits", "--dataset", "sklearn-digits"],
    "cache rm": ["convnext_tiny"],
}

#: Values a parameter may be given by mistake or by malice: empty, signs and sizes, paths that are missing, a
#: file, a folder, outside the working folder, an over-long one, a name that is not valid UTF-8 (what a shell
#: passes for such a file name), and the shapes of names.
HOSTILE = ["", "0", "-1", "1e400", "nan", "-", "x" * 4096, "../../..", "/no/such/place", "{file}", "{dir}",
           "bad\udcffname", "hf:", "hf:/", "@", "convnext_tiny@", "https://127.0.0.1:{port}/x"]

#: Settings that make no sense, for every command.
HOSTILE_ENV: list[dict[str, str]] = [
    {"HUB_HOME": "{file}"},
    {"HUB_REGISTRY": "{dir}"},
    {"HUB_TIMEOUT": "-1"},
    {"HUB_RETRIES": "many"},
    {"HUB_MAX_BYTES": "0"},
    {"HUB_CONNECTIONS": "0"},
    {"HUB_CONNECTIONS": "100000"},
    {"HUB_MIRRORS": ":::,,"},
    {"HF_ENDPOINT": "not a url"},
    {"HUB_CATALOG_URL": "file:///etc/passwd"},
    {"HUB_ALLOWED_HOSTS": ",,,"},
    # the network down: nothing listens where the mirror and the Hub point, and no other host is allowed
    {"HUB_OFFLINE": "", "HUB_MIRRORS": "http://127.0.0.1:{port}", "HF_ENDPOINT": "http://127.0.0.1:{port}",
     "HUB_CATALOG_URL": "http://127.0.0.1:{port}/hub.tar.gz"},
]


def _commands() -> Iterator[tuple[str, Any]]:
    def walk(cmd: Any, prefix: tuple[str, ...]) -> Iterator[tuple[str, Any]]:
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                yield from walk(sub, (*prefix, name))
        else:
            yield " ".join(prefix), cmd

    return walk(typer.main.get_command(app), ())


def _cases() -> Iterator[Any]:
    for name, cmd in _commands():
        base = BASE.get(name, [])
        for param in cmd.params:
            if param.opts[0] == "--help" or getattr(param, "is_flag", False):
                continue
            for value in HOSTILE:
                if param.param_type_name == "argument":
                    position = [p for p in cmd.params if p.param_type_name == "argument"].index(param)
                    argv = list(base)
                    argv[position:position + 1] = [value]
                else:
                    argv = [a for a in base if a != param.opts[0]] if param.opts[0] in base else list(base)
                    if param.opts[0] in base:  # replace the base's own value for it
                        argv = base[:base.index(param.opts[0])] + base[base.index(param.opts[0]) + 2:]
                    argv += [param.opts[0], value]
                yield pytest.param(name, argv, {}, id=f"{name} {param.opts[0]}={value[:20]!r}")
        for env in HOSTILE_ENV:
            yield pytest.param(name, list(base), env, id=f"{name} env {','.join(env)}")


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """A working folder deep enough that ``../../..`` stays inside the test's own space, offline by default."""
    work = tmp_path / "a" / "b" / "c" / "work"
    work.mkdir(parents=True)
    (work / "a-file").write_text("not what anything expects\n")
    (work / "a-dir").mkdir()
    cards = work / "cards"
    cards.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("HUB_OFFLINE", "1")
    monkeypatch.setenv("HUB_ALLOWED_HOSTS", "127.0.0.1")
    monkeypatch.setenv("HUB_RETRIES", "0")
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    try:  # `hub serve` checks its arguments, then would serve forever: here it returns at once instead
        import uvicorn

        monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: None)
    except ImportError:
        pass
    return work


def _fill(text: str, work: Path, port: int) -> str:
    return (text.replace("{file}", str(work / "a-file")).replace("{dir}", str(work / "a-dir"))
            .replace("{cards}", str(work / "cards")).replace("{port}", str(port)))


def _leftovers(*roots: Path) -> list[Path]:
    return [p for root in roots if root.is_dir() for p in root.rglob("*")
            if p.name.endswith(".tmp") or (p.name.startswith(".") and ".tmp" in p.name)]


@pytest.mark.parametrize(("command", "argv", "env"), list(_cases()))
def test_no_traceback_from_any_command(command, argv, env, sandbox, monkeypatch, capsys):
    port = closed_port()
    for key, value in env.items():
        if value:
            monkeypatch.setenv(key, _fill(value, sandbox, port))
        else:
            monkeypatch.delenv(key, raising=False)
    args = [*command.split(), *(_fill(a, sandbox, port) for a in argv)]
    monkeypatch.setattr(sys, "argv", ["hub", *args])
    try:
        main()
        code = 0
    except SystemExit as e:  # the only way out of main: anything else is a traceback for the user
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    out = capsys.readouterr()
    assert code in (0, 1, 2), (code, out.err[-2000:])
    if code:  # said why: on stderr, or on stdout where the result is the verdict (hub verify)
        said = (out.err.strip() or out.out.strip()).splitlines()
        assert said, f"exit {code} with nothing said"
        assert all(len(line) < 1000 for line in out.err.splitlines()), out.err[:3000]
    assert "Traceback" not in out.out + out.err
    assert _leftovers(sandbox, Path(os.environ["HUB_HOME"])) == []
