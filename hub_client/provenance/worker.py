"""A signature's check under way while a pull downloads.

A key's signature is read off the bundle at once (``dsse.py``). Any other (a certificate chain, Sigstore) needs
``model_signing``, whose import (Sigstore, TUF and their clients) takes longer than a model of a few hundred MB
takes to arrive, and in a thread holds the interpreter lock the download's threads need; so it runs in a child
process on the core the download leaves, and the pull reads the verdict when the first file is ready to be stored
(``python -m bench.provenance`` measures it). The child runs this module and answers in JSON.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path
from threading import Thread
from typing import Any

from registry.errors import SignatureError

from .signature import TrustAnchor
from .signed import SignedFiles


def verdict(signature: bytes, anchors: Sequence[TrustAnchor], *, model: str,
            rule: str | None = None) -> Future[tuple[SignedFiles, TrustAnchor]]:
    """The check of ``signature`` against ``anchors``, under way: here and now when every anchor is a public key
    (read off the bundle, ``dsse.py``: no library to load), else in a child process while the caller downloads."""
    if not all(a.key is not None for a in anchors):
        return check(spawn(), signature, anchors, model=model, rule=rule)
    from .verification import first_holding

    done: Future[tuple[SignedFiles, TrustAnchor]] = Future()
    with tempfile.TemporaryDirectory(prefix="hub-sig-") as tmp:
        path = Path(tmp) / "model.sig"
        path.write_bytes(signature)
        try:
            done.set_result(first_holding(path, anchors, model=model, rule=rule))
        except SignatureError as e:
            done.set_exception(e)
    return done


def spawn() -> subprocess.Popen[bytes]:
    """The child that checks a signature: it loads the library first, then reads the request from its stdin."""
    return subprocess.Popen([sys.executable, "-m", "hub_client.provenance.worker"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def check(child: subprocess.Popen[bytes], signature: bytes, anchors: Sequence[TrustAnchor], *, model: str,
          rule: str | None = None) -> Future[tuple[SignedFiles, TrustAnchor]]:
    """Check ``signature`` against ``anchors`` (the first that verifies it wins) in ``child`` (from
    :func:`spawn`); the future's result is what it signs and the anchor, or raises :class:`SignatureError` with
    each anchor's reason."""
    request = json.dumps({"signature": base64.b64encode(signature).decode(), "model": model,
                          "anchors": [_anchor_json(a) for a in anchors]})
    future: Future[tuple[SignedFiles, TrustAnchor]] = Future()

    def wait() -> None:
        out, err = child.communicate(request.encode())
        try:
            answer = json.loads(out)
        except ValueError:
            future.set_exception(SignatureError(model, f"the signature check failed to run ({err.decode()[-300:]})",
                                                rule=rule))
            return
        if not answer.get("ok"):
            future.set_exception(SignatureError(model, str(answer.get("problem")), rule=rule))
            return
        future.set_result((SignedFiles(answer["digests"], answer["method"], answer["hash_type"],
                                       tuple(answer["ignored"])), anchors[answer["anchor"]]))

    Thread(target=wait, name="hub-signature", daemon=True).start()
    return future


def _anchor_json(a: TrustAnchor) -> dict[str, Any]:
    return {"key": str(a.key) if a.key else None, "certificate_chain": [str(c) for c in a.certificate_chain],
            "identity": a.identity, "issuer": a.issuer}


def _check(request: dict[str, Any]) -> dict[str, Any]:
    from .verification import first_holding

    anchors = [TrustAnchor(key=Path(a["key"]) if a["key"] else None,
                           certificate_chain=tuple(Path(c) for c in a["certificate_chain"]),
                           identity=a["identity"], issuer=a["issuer"]) for a in request["anchors"]]
    with tempfile.TemporaryDirectory(prefix="hub-sig-") as tmp:
        path = Path(tmp) / "model.sig"
        path.write_bytes(base64.b64decode(request["signature"]))
        try:
            signed, anchor = first_holding(path, anchors, model=request["model"])
        except SignatureError as e:
            return {"ok": False, "problem": e.problem}
    return {"ok": True, "anchor": anchors.index(anchor), "digests": dict(signed.digests), "method": signed.method,
            "hash_type": signed.hash_type, "ignored": list(signed.ignored)}


if __name__ == "__main__":
    import os

    from .signature import library

    try:  # the download it runs beside comes first: this takes the time a core has left
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        if hasattr(os, "nice"):
            os.nice(19)
    library()  # loaded before the request is read, whenever the parent sends it
    json.dump(_check(json.load(sys.stdin)), sys.stdout)
