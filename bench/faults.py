"""Reliability figures: the fetcher and the registry under faults, and the card parser under fuzzing.

    python -m bench.faults            # full: 1 GiB pull killed 10 times, 16 pullers, 100k fuzzed cards
    python -m bench.faults --quick    # small sizes, for a smoke run

Every scenario runs against real servers on loopback (nginx, the fault proxy) and
real processes (kill -9), and reports what happened: whether the file came out
verified, how many bytes were sent twice, and whether anything unverified ever sat
at a final cache path. The test suite runs smaller slices of the same cases.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "support"))

from helpers import payload, publish  # noqa: E402
from servers.faultproxy import FaultProxy, Faults  # noqa: E402
from servers.nginx import Nginx  # noqa: E402

PY = sys.executable
MiB = 1 << 20


class Bench:
    def __init__(self, work: Path) -> None:
        self.work = work
        self.nginx = Nginx(work / "root", work / "nginx").start()
        self.proxy = FaultProxy(self.nginx.url).start()
        self.cards = work / "cards"
        self.cards.mkdir()
        self.n = 0
        self.env = {**os.environ, "HUB_ALLOWED_HOSTS": "127.0.0.1", "HUB_REGISTRY": str(work / "registry.db"),
                    "HUB_BACKOFF": "0.01", "HUB_TIMEOUT": "2", "HUB_RETRIES": "5"}

    def stop(self) -> None:
        self.proxy.stop()
        self.nginx.stop()

    def asset(self, size: int) -> tuple[str, bytes, str]:
        """A fresh model whose one asset is served through the proxy; returns (name, bytes, digest)."""
        self.n += 1
        name = f"fault_{self.n}"
        data = payload(size, seed=self.n)
        pub = publish(self.nginx.root, self.cards, name, data, base=self.proxy.url)
        subprocess.run([PY, "-m", "hub_client.cli", "index", str(self.cards)], env={**self.env, "HUB_HOME": str(
            self.work / "h")}, check=True, stdout=subprocess.DEVNULL)
        return name, data, pub.digest

    def home(self, tag: str) -> dict[str, str]:
        return {**self.env, "HUB_HOME": str(self.work / f"home-{tag}")}

    def pull(self, name: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run([PY, "-m", "hub_client.cli", "pull", name, "-q"], env=env, capture_output=True, text=True)


def final_path_ok(env: dict[str, str], digest: str, data: bytes | None) -> bool:
    """Every file at a final cache path is verified: a blob's bytes hash to its name."""
    home = Path(env["HUB_HOME"])
    for blob in (home / "blobs" / "sha256").glob("*") if (home / "blobs").exists() else []:
        h = hashlib.sha256()
        with open(blob, "rb") as f:
            while chunk := f.read(4 * MiB):
                h.update(chunk)
        if h.hexdigest() != blob.name:
            return False
    return True


def scenario_kill9(b: Bench, size: int, kills: int) -> dict[str, object]:
    name, data, digest = b.asset(size)
    env = b.home("kill9")
    b.proxy.reset()
    b.proxy.faults.rate = max(size / 4, 8 * MiB)  # ~4 s: kills land mid-transfer
    clean = True
    for _ in range(kills):
        proc = subprocess.Popen([PY, "-m", "hub_client.cli", "pull", name, "-q"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(random.uniform(0.4, 2.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        clean &= final_path_ok(env, digest, data)
    b.proxy.faults.rate = None
    start = time.monotonic()
    ok = b.pull(name, env).returncode == 0
    resumed = sum(1 for _, _, rng in b.proxy.requests if rng)
    return {"scenario": f"kill -9 a {size // MiB} MiB pull {kills} times, then pull",
            "outcome": "verified" if ok and final_path_ok(env, digest, data) else "FAILED",
            "resumed requests": resumed, "bytes re-sent": b.proxy.body_bytes - size,
            "unverified at a final path": "never" if clean else "YES", "seconds (last pull)": time.monotonic() - start}


def scenario_proxy(b: Bench, label: str, size: int, faults: Faults, extra_env: dict[str, str] | None = None
                   ) -> dict[str, object]:
    name, data, digest = b.asset(size)
    env = {**b.home(label.replace(" ", "_")), **(extra_env or {})}
    b.proxy.reset()
    b.proxy.faults = faults
    start = time.monotonic()
    res = b.pull(name, env)
    ok = res.returncode == 0
    err = (res.stderr.strip().splitlines() or [""])[-1].removeprefix("error: ")[:60]
    return {"scenario": label, "outcome": "verified" if ok else f"error: {err}",
            "resumed requests": sum(1 for _, _, rng in b.proxy.requests if rng),
            "bytes re-sent": max(0, b.proxy.body_bytes - size) if ok else "-",
            "unverified at a final path": "never" if final_path_ok(env, digest, data) else "YES",
            "seconds (last pull)": time.monotonic() - start}


def scenario_changed(b: Bench, size: int) -> dict[str, object]:
    """The card stays; the server's file changes under a half-done pull (a re-upload, a mirror repaired)."""
    name, data, digest = b.asset(size)
    served = next(b.nginx.root.rglob(f"{name}-*.ckpt"))
    served.write_bytes(payload(size, seed=9999))  # what the server had at first: other bytes, another ETag
    env = b.home("changed")
    b.proxy.reset()
    b.proxy.faults = Faults(cut_after=size // 2)
    b.pull(name, {**env, "HUB_RETRIES": "0"})
    first = served.stat().st_mtime
    served.write_bytes(data)  # now the right file, uploaded later: a new ETag
    os.utime(served, (first + 10, first + 10))
    b.proxy.faults = Faults()
    n_before = len(b.proxy.requests)
    before = b.proxy.body_bytes
    start = time.monotonic()
    ok = b.pull(name, env).returncode == 0
    tried = sum(1 for r in b.proxy.requests[n_before:] if r[2])
    return {"scenario": "the file changed between attempts (new ETag)",
            "outcome": ("verified, after a full restart" if ok and b.proxy.body_bytes - before == size
                        else "verified" if ok else "FAILED"),
            "resumed requests": tried, "bytes re-sent": b.proxy.body_bytes - before - size,
            "unverified at a final path": "never" if final_path_ok(env, digest, data) else "YES",
            "seconds (last pull)": time.monotonic() - start}


def scenario_concurrent(b: Bench, size: int, n: int) -> dict[str, object]:
    name, data, digest = b.asset(size)
    env = b.home("concurrent")
    b.proxy.reset()
    b.proxy.faults.rate = max(size / 2, 8 * MiB)
    start = time.monotonic()
    procs = [subprocess.Popen([PY, "-m", "hub_client.cli", "pull", name, "-q"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(n)]
    codes = [p.wait() for p in procs]
    blobs = len(list((Path(env["HUB_HOME"]) / "blobs" / "sha256").glob("*")))
    transfers = sum(1 for m, _, _ in b.proxy.requests if m == "GET")
    return {"scenario": f"{n} processes pull one {size // MiB} MiB asset at once",
            "outcome": f"{codes.count(0)}/{n} succeeded, {transfers} transfer(s), {blobs} blob(s)",
            "resumed requests": 0, "bytes re-sent": b.proxy.body_bytes - size,
            "unverified at a final path": "never" if final_path_ok(env, digest, data) else "YES",
            "seconds (last pull)": time.monotonic() - start}


INDEXER = ("import sys\nfrom registry import Registry\nreg = Registry(sys.argv[1])\n"
           "[reg.add_source(s) for s in sys.argv[2:]]\nreg.sync(force=True)\n")


def scenario_registry(work: Path, corpus: Path, kills: int) -> dict[str, object]:
    db = work / "crash.db"
    env = {**os.environ, "HUB_HOME": str(work / "rh")}
    subprocess.run([PY, "-c", "import sys; from registry import Registry; Registry(sys.argv[1]).sync()", str(db)],
                   env=env, check=True)
    consistent = 0
    states = set()
    wal = Path(f"{db}-wal")
    for k in range(kills):
        proc = subprocess.Popen([PY, "-c", INDEXER, str(db), str(corpus / "mindspore-hub"),
                                 str(corpus / "huggingface")], env=env)
        if k % 2 == 0:  # inside the write transaction: once the WAL grows
            size0 = wal.stat().st_size if wal.exists() else 0
            deadline = time.monotonic() + 30
            while proc.poll() is None and time.monotonic() < deadline and (
                    not wal.exists() or wal.stat().st_size <= size0 + 65536):
                time.sleep(0.002)
        else:  # anywhere, mostly while cards are analyzed
            time.sleep(random.uniform(0.2, 1.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        con = sqlite3.connect(db)
        ok = con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        cards, models, rec = con.execute("SELECT (SELECT count(*) FROM cards), (SELECT count(*) FROM models), "
                                         "(SELECT count(*) FROM cards WHERE record IS NOT NULL)").fetchone()
        con.close()
        consistent += ok and models == rec
        states.add(cards)
    start = time.monotonic()
    subprocess.run([PY, "-c", INDEXER, str(db), str(corpus / "mindspore-hub"), str(corpus / "huggingface")],
                   env=env, check=True)
    con = sqlite3.connect(db)
    final = con.execute("SELECT count(*) FROM cards").fetchone()[0]
    con.close()
    return {"scenario": f"kill -9 the registry indexer {kills} times, then index",
            "outcome": f"consistent after {consistent}/{kills} kills (cards seen: {sorted(states)}); "
                       f"then {final} cards",
            "resumed requests": "-", "bytes re-sent": "-", "unverified at a final path": "-",
            "seconds (last pull)": time.monotonic() - start}


def scenario_fuzz(corpus: Path, n: int) -> dict[str, object]:
    from registry.card.analyze import analyze_text

    seeds = [p.read_text(encoding="utf-8", errors="replace") for p in sorted(corpus.rglob("*.md"))[::7]]
    junk = ["-", ":", "\n", "---\n", "'", '"', "[", "{", "\t", "&a ", "*a", "!!python/object:os.system ", "# ",
            "\uff1a", "\x00", "model-index:\n", "- ", "  ", "|", "evaluation: -\n", "<<: *a\n", "? "]
    rnd = random.Random(1234)
    failures = 0
    start = time.monotonic()
    for _ in range(n):
        text = rnd.choice(seeds)[:4000]
        for _ in range(rnd.randint(1, 5)):
            pos = rnd.randrange(len(text) + 1)
            op = rnd.random()
            if op < 0.5:
                text = text[:pos] + rnd.choice(junk) + text[pos:]
            elif op < 0.8:
                text = text[:pos] + text[pos + rnd.randint(1, 40):]
            else:
                lines = text.split("\n")
                i = rnd.randrange(len(lines))
                lines.insert(rnd.randrange(len(lines) + 1), lines[i])
                text = "\n".join(lines)
        try:
            analyze_text(text)
        except Exception:  # noqa: BLE001 - counting is the point
            failures += 1
    elapsed = time.monotonic() - start
    return {"scenario": f"lint {n:,} mutated real cards", "outcome": f"{failures} unhandled exception(s)",
            "resumed requests": "-", "bytes re-sent": "-", "unverified at a final path": "-",
            "seconds (last pull)": elapsed}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    big = 128 * MiB if args.quick else 1024 * MiB
    mid = 48 * MiB if args.quick else 256 * MiB
    kills = 3 if args.quick else 10
    random.seed(7)
    work = Path(tempfile.mkdtemp(prefix="hub-faults-"))
    b = Bench(work)
    rows: list[dict[str, object]] = []
    runs: list[Callable[[], dict[str, object]]] = [
        lambda: scenario_kill9(b, big, kills),
        lambda: scenario_proxy(b, "connection cut every 10 MiB", mid, Faults(cut_after=10 * MiB, cut_times=10**6),
                               {"HUB_RETRIES": str(mid // (10 * MiB) + 3)}),
        lambda: scenario_proxy(b, "stall 4 s mid-body (read time-out 1 s)", mid,
                               Faults(stall_after=mid // 3, stall_seconds=4.0), {"HUB_TIMEOUT": "1"}),
        lambda: scenario_proxy(b, "one byte flipped", mid, Faults(flip_at=mid // 2)),
        lambda: scenario_proxy(b, "500, then 200", mid, Faults(statuses=[(500, {})])),
        lambda: scenario_proxy(b, "429 with Retry-After: 1", mid, Faults(statuses=[(429, {"Retry-After": "1"})])),
        lambda: scenario_proxy(b, "server ignores Range, cut at 60%", mid,
                               Faults(ignore_range=True, cut_after=mid * 6 // 10)),
        lambda: scenario_changed(b, mid),
        lambda: scenario_proxy(b, "Content-Length of 10 TB (over the cap)", mid, Faults(fake_length=10**13)),
        lambda: scenario_concurrent(b, mid, 16),
    ]
    try:
        for run in runs:
            rows.append(run())
            print(f"  done: {rows[-1]['scenario']}", file=sys.stderr)
    finally:
        b.stop()
    if args.corpus.is_dir():
        rows.append(scenario_registry(work, args.corpus, kills))
        rows.append(scenario_fuzz(args.corpus, 5_000 if args.quick else 100_000))
    shutil.rmtree(work, ignore_errors=True)
    cols = ["scenario", "outcome", "resumed requests", "bytes re-sent", "unverified at a final path",
            "seconds (last pull)"]
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in rows:
        cells = [f"{v:.2f}" if isinstance(v, float) else f"{v:,}" if isinstance(v, int) else str(v)
                 for v in (r[c] for c in cols)]
        print("| " + " | ".join(cells) + " |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
