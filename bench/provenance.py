"""Signed pulls: what checking an OpenSSF signature adds to a pull, and what checking a pulled model costs.

    python -m bench.provenance [--rounds 5] [--quick] [--json out.json]

A 1 GiB repo (256 MiB with --quick) with its model.sig is served by the HF-compatible server, its weights
redirected to nginx as the Hub redirects to its CDN. Rounds alternate `hub pull hf:ID` in a fresh home with and
without a trust policy (HUB_TRUST) that asks for the signature: the ratio is what the check adds (target <= 1.05x:
the digests come from the pull, no file is read twice). Then the pulled model is checked again, by
`hub verify hf:ID --key` (from the digests the pull kept) and by `model_signing verify` on the same snapshot
folder (which hashes every file: the anchor).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "support"))

from servers.hfserver import HfServer, Remote  # noqa: E402
from servers.nginx import Nginx  # noqa: E402

from bench.common import main_with_rounds, make_file, run_timed, settle  # noqa: E402

PY = sys.executable


def _keys(folder: Path) -> tuple[Path, Path]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    private, public = folder / "signer.pem", folder / "signer.pub"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo))
    return private, public


def run(rounds: int, size: int) -> dict[str, Any]:
    from hub_client.provenance import SigningKey, sign_digests

    work = Path(tempfile.mkdtemp(prefix="hub-bench-prov-"))
    nginx = Nginx(work / "root", work / "nginx").start()
    hf = HfServer().start()
    try:
        private, public = _keys(work)
        weights = nginx.root / "cdn" / "model.safetensors"
        weights.parent.mkdir(parents=True)
        digest = make_file(weights, size)
        small = {"config.json": json.dumps({"model_type": "convnext"}).encode(),
                 "README.md": b"---\nlicense: apache-2.0\nlibrary_name: transformers\n---\n# signed\n"}
        digests = {"model.safetensors": digest, **{n: hashlib.sha256(d).hexdigest() for n, d in small.items()}}
        repo = "bench/signed"
        sig = sign_digests("signed", digests, SigningKey(private_key=private))
        hf.add(repo, {**small, "model.safetensors": Remote(size, digest), "model.sig": sig})
        hf.cdn[f"{repo}/model.safetensors"] = f"{nginx.url}/cdn/model.safetensors"
        (work / "trust.yaml").write_text('rules:\n  - models: ["hf:bench/*"]\n    keys: [signer.pub]\n')
        hub = str(Path(PY).with_name("hub"))
        env = {**os.environ, "HUB_ALLOWED_HOSTS": "127.0.0.1", "HF_ENDPOINT": hf.url,
               "HF_HUB_DISABLE_TELEMETRY": "1"}
        times: dict[str, list[float]] = {"hub pull (no policy)": [], "hub pull (HUB_TRUST: signature checked)": [],
                                         "hub verify hf:ID --key (pulled)": [], "model_signing verify (pulled)": []}
        for r in range(rounds + 1):  # round 0 warms the page cache and the interpreters
            homes = {label: work / f"r{r}-{i}" for i, label in enumerate(list(times)[:2])}
            jobs = [(label, {"HUB_HOME": str(h), "HUB_REGISTRY": str(h / "registry.db"), "HF_HOME": str(h / "hf"),
                             **({"HUB_TRUST": str(work / "trust.yaml")} if "TRUST" in label else {})})
                    for label, h in homes.items()]
            for label, extra in (jobs if r % 2 == 0 else jobs[::-1]):
                settle()
                seconds = run_timed([hub, "pull", f"hf:{repo}", "-q"], {**env, **extra})
                if r:
                    times[label].append(seconds)
            label, extra = jobs[1]
            snap = next((Path(extra["HF_HOME"]) / "hub" / "models--bench--signed" / "snapshots").iterdir())
            checks = [("hub verify hf:ID --key (pulled)", [hub, "verify", f"hf:{repo}", "--key", str(public)]),
                      ("model_signing verify (pulled)", [PY, "-m", "model_signing", "verify", "key", str(snap),
                                                         "--signature", str(snap / "model.sig"), "--public_key",
                                                         str(public), "--allow_symlinks"])]
            for what, cmd in (checks if r % 2 == 0 else checks[::-1]):
                seconds = run_timed(cmd, {**env, **extra})
                if r:
                    times[what].append(seconds)
            for h in homes.values():
                shutil.rmtree(h, ignore_errors=True)
        return {"size_mb": size >> 20, "median_s": {k: statistics.median(v) for k, v in times.items()}}
    finally:
        hf.stop()
        nginx.stop()
        shutil.rmtree(work, ignore_errors=True)


def table(doc: dict[str, Any]) -> str:
    med = doc["median_s"]
    plain = med["hub pull (no policy)"]
    anchor = med["model_signing verify (pulled)"]
    out = [f"| what ({doc['size_mb']} MiB repo) | median (s) | ratio | target |", "|---|---:|---:|---|"]
    for label, seconds in med.items():
        if label.startswith("hub pull"):
            ratio, target = seconds / plain, ("<= 1.05x of the pull alone" if "TRUST" in label else "anchor")
        else:
            ratio, target = seconds / anchor, ("anchor" if label.startswith("model_signing") else "< 1.0x")
        out.append(f"| `{label}` | {seconds:.2f} | {ratio:.2f}x | {target} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    quick = argv is not None and "--quick" in argv or "--quick" in sys.argv
    size = (256 if quick else 1024) << 20
    return main_with_rounds(argv, __doc__ or "", lambda rounds: run(rounds, size), table, rounds=5, quick=3)


if __name__ == "__main__":
    raise SystemExit(main())
