"""hub lint --online against a real HTTP server on loopback."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from typer.testing import CliRunner

from hub_client.cli.app import app


class Handler(BaseHTTPRequestHandler):
    def _answer(self, with_body):
        if self.path == "/missing.ckpt":
            self.send_response(404)
        elif self.path == "/nohead.ckpt" and self.command == "HEAD":
            self.send_response(405)
        elif self.path == "/moved.ckpt":
            self.send_response(302)
            self.send_header("Location", "/ok.ckpt")
        else:
            self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        if with_body:
            self.wfile.write(b"ok")

    def do_HEAD(self):
        self._answer(False)

    def do_GET(self):
        self._answer(True)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


CARD = """# m

---

model-name: m
backbone-name: convnext
module-type: cv
fine-tunable: true
model-version: "2.5"
train-dataset: ImageNet2012
evaluation: top1acc81.28
author: a
update-time: 2025-03-10
repo-link: {repo}
user-id: u
used-for: inference
mindspore-version: "2.5"
asset:
- file-format: ckpt
  asset-link: {asset}
  asset-sha256: {sha}
license: Apache-2.0
summary: s

---
"""


def lint_online(tmp_path, repo, asset):
    p = tmp_path / "card.md"
    p.write_text(CARD.format(repo=repo, asset=asset, sha="a" * 64))
    result = CliRunner().invoke(app, ["lint", "--online", "--timeout", "5", "--format", "json",
                                      "--ignore", "insecure-link", str(p)])
    return result.exit_code, [d for d in json.loads(result.output)[0]["diagnostics"]]


def test_live_links_pass(server, tmp_path):
    code, diags = lint_online(tmp_path, f"{server}/ok.ckpt", f"{server}/nohead.ckpt")
    assert code == 0 and diags == []


def test_redirect_followed(server, tmp_path):
    code, diags = lint_online(tmp_path, f"{server}/moved.ckpt", f"{server}/ok.ckpt")
    assert code == 0 and diags == []


def test_dead_links_are_errors_at_their_lines(server, tmp_path):
    closed = "http://127.0.0.1:9"  # discard port: nothing listens
    code, diags = lint_online(tmp_path, f"{closed}/repo", f"{server}/missing.ckpt")
    assert code == 1
    lines = CARD.splitlines()
    repo_line = next(i for i, ln in enumerate(lines, 1) if ln.startswith("repo-link:"))
    asset_line = next(i for i, ln in enumerate(lines, 1) if "asset-link:" in ln)
    assert {(d["line"], d["rule"]) for d in diags} == {(repo_line, "link-unreachable"),
                                                         (asset_line, "link-unreachable")}
    by_line = {d["line"]: d["message"] for d in diags}
    assert "404" in by_line[asset_line] and "could not be reached" in by_line[repo_line]


def test_offline_by_default(server, tmp_path):
    p = tmp_path / "card.md"
    p.write_text(CARD.format(repo=f"{server}/ok", asset=f"{server}/missing.ckpt", sha="a" * 64))
    result = CliRunner().invoke(app, ["lint", "--ignore", "insecure-link", str(p)])
    assert result.exit_code == 0 and "link-unreachable" not in result.output


def _lint_cli(card, **env):
    import os
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "hub_client.cli", "lint", "--online", "--timeout", "5",
                           "--ignore", "insecure-link", str(card)], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=120)


def test_network_down_is_said_not_blamed_on_the_cards(tmp_path):
    """When not one host answers (names do not resolve, nothing listens), the network is down: one error that
    says so, and no card is marked broken."""
    from helpers.tools import closed_port

    p = tmp_path / "card.md"
    p.write_text(CARD.format(repo="https://hub-test.invalid/repo", asset=f"http://127.0.0.1:{closed_port()}/a.ckpt",
                             sha="a" * 64))
    proc = _lint_cli(p)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "the network looks down" in proc.stderr and "hub-test.invalid: its name does not resolve" in proc.stderr
    assert "link-unreachable" not in proc.stdout + proc.stderr


def test_one_live_host_means_the_dead_ones_are_the_cards_fault(server, tmp_path):
    code, diags = lint_online(tmp_path, "https://hub-test.invalid/repo", f"{server}/ok.ckpt")
    assert code == 1 and [d["rule"] for d in diags] == ["link-unreachable"]


def test_online_with_offline_mode_is_a_usage_error(server, tmp_path):
    p = tmp_path / "card.md"
    p.write_text(CARD.format(repo=f"{server}/ok", asset=f"{server}/ok.ckpt", sha="a" * 64))
    proc = _lint_cli(p, HUB_OFFLINE="1")
    assert proc.returncode == 2 and "offline mode" in proc.stderr and "Traceback" not in proc.stderr
