"""``hub serve``: run the team mirror (uvicorn + the ASGI app of ``hub_server``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from registry.settings import Settings


def serve(
    storage: Annotated[str | None, typer.Option(
        help="Where the mirror keeps what it serves: a folder (Hugging Face repos in STORAGE/hf in huggingface_hub's "
        "cache layout, MindSpore Hub assets in STORAGE as a HUB_HOME), or s3://bucket/prefix (endpoint and "
        "credentials from the AWS_* variables). Default: HUB_HOME/serve.")] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8080,
    upstream_hf: Annotated[str | None, typer.Option(
        "--upstream-hf", help="The Hugging Face hub a miss is fetched from (default: HF_ENDPOINT, else "
        "https://huggingface.co); its token is HUB_SERVE_UPSTREAM_TOKEN or HF_TOKEN, and stays on the server.")
    ] = None,
    upstream_ms: Annotated[str | None, typer.Option(
        "--upstream-ms", help="Where MindSpore Hub assets are fetched from, in order: base URLs of other mirrors "
        "(URL[,URL...]), asked under each asset's own path, with HUB_SERVE_UPSTREAM_TOKEN. Default: each card's own "
        "host.")] = None,
    offline: Annotated[bool, typer.Option(help="Serve only what is stored; never ask upstream.")] = False,
    max_size: Annotated[str | None, typer.Option(
        help="The most a storage folder keeps of Hugging Face files and MindSpore Hub assets (500GB, 2TiB); past "
        "it, the least recently used go. On S3, use the bucket's lifecycle rules.")] = None,
    public: Annotated[bool, typer.Option(help="Listen beyond loopback with no team token (HUB_SERVE_TOKENS).")
                      ] = False,
    policy: Annotated[Path | None, typer.Option(
        help="A YAML policy of what the mirror serves: allow and deny patterns, licenses, refused file formats "
        "(pickle-based weights by default), signatures required (the format is in hub_server/rules.py).")] = None,
    audit_log: Annotated[Path | None, typer.Option(
        help="Append who fetched what to this file, one JSON line a request (the client named by its token's "
        "sha256, never the token).")] = None,
) -> None:
    """Serve Hugging Face repos with the Hub's download API (HF_ENDPOINT=http://HOST:PORT), fetching what is
    missing from upstream once, and the stored MindSpore Hub assets under their upstream paths
    (HUB_MIRRORS=http://HOST:PORT); counters for Prometheus at /metrics."""
    import importlib.util

    from registry.about import install_hint
    from registry.errors import UsageError

    from ._output import settings

    if importlib.util.find_spec("starlette") is None or importlib.util.find_spec("uvicorn") is None:
        raise UsageError(f"hub serve needs starlette and uvicorn: {install_hint('serve')}")
    found = settings()
    tokens, write_tokens = found.serve_tokens, found.serve_write_tokens
    if host not in ("127.0.0.1", "::1", "localhost") and not tokens and not public:
        raise UsageError(f"listening on {host} with no team token would serve anyone who can reach it: set "
                         "HUB_SERVE_TOKENS=token1,token2 (clients send HF_TOKEN), or pass --public")
    upstream = (upstream_hf or found.hf_endpoint).rstrip("/")
    if not upstream.startswith(("https://", "http://")):
        raise UsageError(f"--upstream-hf {upstream!r} is not an http(s) URL")
    ms_upstreams = tuple(u.strip().rstrip("/") for u in (upstream_ms or "").split(",") if u.strip())
    bad = [u for u in ms_upstreams if not u.startswith(("https://", "http://"))]
    if bad:
        raise UsageError(f"--upstream-ms {bad[0]!r} is not an http(s) URL")
    if storage and storage.startswith("s3://") and importlib.util.find_spec("boto3") is None:
        raise UsageError(f"a mirror on S3 needs boto3: {install_hint('s3')}")
    _check_upstreams([upstream, *ms_upstreams], found)
    _check_port(host, port)
    from hub_server.build import build_mirror
    from hub_server.rules import load_rules
    from registry.store.db import Registry

    # The user's registry (the one `hub list` shows) says which card an asset path belongs to: made current now.
    with Registry(settings=found):
        pass
    built = build_mirror(found, storage=storage, upstream=upstream, upstreams_ms=ms_upstreams, offline=offline,
                         max_bytes=parse_size(max_size) if max_size else None, audit_log=audit_log,
                         rules=load_rules(policy) if policy else None)
    import uvicorn

    typer.echo(f"serving {built.where} at http://{host}:{port} ({'team tokens' if tokens else 'no token'}"
               f"{', uploads with write tokens' if write_tokens else ''}; "
               f"{'offline' if offline else 'upstream ' + upstream}); clients: HF_ENDPOINT=http://{host}:{port}",
               err=True)
    import gc

    # Everything loaded so far lives as long as the server: out of the collector's sight, a full collection walks
    # only what requests create, and no pause holds up the 64 clients in line (the p99 of python -m bench.serve).
    gc.collect()
    gc.freeze()
    uvicorn.run(built.app, host=host, port=port, log_level="warning", access_log=False,
                h11_max_incomplete_event_size=16384)


def _check_upstreams(urls: list[str], settings: Settings) -> None:
    """Refuse at start an upstream the URL policy would refuse on every miss (plain http to a host not on
    loopback without HUB_ALLOW_HTTP, say), rather than answering each client a 502."""
    from urllib.parse import urlsplit

    from hub_client.fetch.policy import Policy

    policy = Policy.of(settings)
    for url in urls:
        host = urlsplit(url).hostname or ""
        Policy((*policy.hosts, host), policy.allow_http, (*policy.trusted, host)).check(url)


def _check_port(host: str, port: int) -> None:
    """A port that is taken is said before anything claims to be serving (uvicorn would log it and exit)."""
    import socket

    from registry.errors import UsageError

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as e:
            raise UsageError(f"cannot listen on {host}:{port} ({e.strerror or e}): another server holds the port, "
                             "or the address is not this machine's; pass --port with a free one") from None


_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12, "KIB": 2**10, "MIB": 2**20,
          "GIB": 2**30, "TIB": 2**40}


def parse_size(text: str) -> int:
    """``500GB``, ``2TiB``, ``1e9``: bytes.

    Raises:
        UsageError: not a size.
    """
    import re

    from registry.errors import UsageError

    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?(?:[eE][0-9]+)?)\s*([A-Za-z]*)\s*", text)
    unit = m[2].upper() if m else ""
    if not m or unit not in _UNITS or float(m[1]) * _UNITS[unit] >= 2**63:
        raise UsageError(f"--max-size {text!r} is not a size: write it as 500GB, 2TiB or a number of bytes")
    return int(float(m[1]) * _UNITS[unit])


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
