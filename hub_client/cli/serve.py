"""``hub serve``: run the team mirror (uvicorn + the ASGI app of ``hub_client.serve``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer


def serve(
    storage: Annotated[Path | None, typer.Option(
        help="The mirror's folder; Hugging Face repos are read from STORAGE/hf, in huggingface_hub's cache layout "
        "(fill it with: HF_HUB_CACHE=STORAGE/hf hub pull hf:org/name), MindSpore Hub assets from STORAGE as a "
        "HUB_HOME (HUB_HOME=STORAGE hub pull NAME). Default: HUB_HOME/serve.")] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8080,
    public: Annotated[bool, typer.Option(help="Listen beyond loopback with no team token (HUB_SERVE_TOKENS).")
                      ] = False,
) -> None:
    """Serve the stored Hugging Face repos with the Hub's download API (HF_ENDPOINT=http://HOST:PORT) and the
    stored MindSpore Hub assets under their upstream paths (HUB_MIRRORS=http://HOST:PORT)."""
    import importlib.util

    from registry import config
    from registry.about import install_hint
    from registry.errors import UsageError

    if importlib.util.find_spec("starlette") is None or importlib.util.find_spec("uvicorn") is None:
        raise UsageError(f"hub serve needs starlette and uvicorn: {install_hint('serve')}")
    tokens = [t.strip() for t in os.environ.get("HUB_SERVE_TOKENS", "").split(",") if t.strip()]
    if host not in ("127.0.0.1", "::1", "localhost") and not tokens and not public:
        raise UsageError(f"listening on {host} with no team token would serve anyone who can reach it: set "
                         "HUB_SERVE_TOKENS=token1,token2 (clients send HF_TOKEN), or pass --public")
    root = (storage or config.hub_home() / "serve").expanduser()
    folder = root / "hf"
    folder.mkdir(parents=True, exist_ok=True)
    import uvicorn

    from hub_client.serve import HfStore, create_app
    from hub_client.serve.assets import AssetStore

    typer.echo(f"serving {folder} at http://{host}:{port} ({'team tokens' if tokens else 'no token'}); "
               f"clients: HF_ENDPOINT=http://{host}:{port}", err=True)
    uvicorn.run(create_app(HfStore(folder), tokens=tokens, assets=AssetStore(root)), host=host, port=port,
                log_level="warning",
                h11_max_incomplete_event_size=16384)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
