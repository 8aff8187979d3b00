"""Which engine and numerics run a loaded network, and the check that earns a reduced precision its place.

``auto`` takes the fastest engine installed for the device (``pick_backend``), then the fastest numerics that keep
the answers. bf16 is tried where the hardware has bf16 instructions (AVX512-BF16 or AMX on a CPU; a CUDA GPU that
has it, else fp16 there; fp16 is only tried when asked for elsewhere), and kept
only after a check on the model itself: its logits on a fixed probe batch against the same network in fp32, as
the largest error relative to the largest fp32 logit, and top-1 agreement on the probe images whose fp32 answer
is decisive (a margin over the runner-up wider than the tolerance; where fp32 itself is within the tolerance, a
flip says nothing of the numerics). Both are timed on the probe too, and ``auto`` keeps bf16 only when it is also
faster: a CPU with AVX512-BF16 but no AMX may run bf16 slower than fp32 (``python -m bench.infer``). A failed check
falls back to fp32, and says so. The verdict is kept per weights file and engine
(``HUB_HOME/engines/checks.json``), so the check runs once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from registry.atomic import write_text
from registry.errors import UsageError

log = logging.getLogger("hub")

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
#: Largest error relative to the largest fp32 logit that a reduced precision may make on the probe batch.
TOLERANCE = 0.03
PROBE_IMAGES = 8


@dataclass(frozen=True)
class Check:
    """What the precision check measured, kept in ``hub_info`` (and cached)."""

    engine: str
    precision: str
    max_rel_error: float
    top1_agreement: float
    decisive: int
    probe: int
    tolerance: float = TOLERANCE
    #: Seconds per probe batch in fp32 and in the reduced precision (best of a few runs).
    fp32_s: float = 0.0
    reduced_s: float = 0.0

    @property
    def passed(self) -> bool:
        return self.max_rel_error <= self.tolerance and self.top1_agreement == 1.0

    @property
    def faster(self) -> bool:
        return 0 < self.reduced_s < self.fp32_s


def check_precision(precision: str) -> str:
    p = precision.strip().lower()
    if p not in PRECISIONS:
        raise UsageError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    return p


def native_bf16() -> bool:
    """True when this CPU has bf16 instructions (AVX512-BF16 or AMX): bf16 is worth trying there, and the check
    times it, since without AMX it may well be slower than fp32."""
    if platform.system() != "Linux":
        return False
    try:
        flags = next((line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags")),
                     "")
    except OSError:
        return False
    return any(f in flags.split() for f in ("avx512_bf16", "amx_bf16"))


def probe_batch(channels: int, size: int) -> NDArray[Any]:
    """The fixed probe: smooth random images (blurred noise, normalised as a preprocess leaves them)."""
    rng = np.random.default_rng(20261130)
    x = rng.standard_normal((PROBE_IMAGES, channels, size, size)).astype(np.float32)
    for axis in (2, 3):  # a box blur makes shapes a network answers to, not pixel noise
        x = (x + np.roll(x, 1, axis) + np.roll(x, -1, axis)) / 3
    return np.ascontiguousarray(x / x.std())


def compare(reference: NDArray[Any], candidate: NDArray[Any], engine: str, precision: str) -> Check:
    ref, got = reference.astype(np.float64), candidate.astype(np.float64)
    rel = float(np.abs(got - ref).max() / max(np.abs(ref).max(), 1e-12))
    top2 = np.sort(ref, axis=1)[:, -2:]
    decisive = (top2[:, 1] - top2[:, 0]) > TOLERANCE * np.abs(ref).max()
    agree = ref.argmax(1) == got.argmax(1)
    share = float(agree[decisive].mean()) if decisive.any() else 1.0
    return Check(engine, precision, rel, share, int(decisive.sum()), len(ref), TOLERANCE)


def weights_key(path: Path | None, *parts: str) -> str:
    """A key for cached checks and compiled engines: the weights file as it is now, and what built from it."""
    ident = "none"
    if path is not None:
        st = path.stat()
        ident = f"{os.path.realpath(path)}:{st.st_size}:{st.st_mtime_ns}"
    return hashlib.sha256("\0".join((ident, *parts)).encode()).hexdigest()[:32]


def cached_check(engines: Path, key: str) -> Check | None:
    """The check kept under ``engines`` (the hub home's ``engines/``) for ``key``; None when there is none."""
    try:
        found = json.loads((engines / "checks.json").read_text()).get(key)
        return Check(**found) if isinstance(found, dict) else None
    except (OSError, ValueError, TypeError):
        return None


def remember_check(engines: Path, key: str, check: Check) -> None:
    path = engines / "checks.json"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            known = json.loads(path.read_text())
        except (OSError, ValueError):
            known = {}
        known[key] = asdict(check)
        write_text(path, json.dumps(known, indent=1))
    except OSError as e:  # a read-only HUB_HOME: the check runs again next time, nothing else changes
        log.info("could not keep the precision check in %s: %s", path, e)


def timed_pair(exact: Callable[[], object], candidate: Callable[[], object], rounds: int = 3) -> tuple[float, float]:
    """Seconds of the fastest run of each, taken in turn, both already warm (the check ran them once). It stops
    after a round whose verdict is clear (one at least a fifth faster than the other): the timing is most of a
    cold engine's check, and a close call is what the further rounds are for."""
    best = [float("inf"), float("inf")]
    for _ in range(rounds):
        for i, run in enumerate((exact, candidate)):
            start = time.perf_counter()
            run()
            best[i] = min(best[i], time.perf_counter() - start)
        if best[1] < 0.8 * best[0] or best[0] < 0.8 * best[1]:
            break
    return best[0], best[1]


def checked(engines: Path, key: str, engine: str, precision: str, reference: Callable[[], NDArray[Any]],
            candidate: Callable[[], NDArray[Any]]) -> Check:
    """The check for ``precision`` on ``engine``: from the cache, or measured now (answers and speed; kept).

    ``reference`` gives the fp32 logits the candidate is judged by, and is what runs if the check says no (the
    same network in fp32), timed against the candidate."""
    found = cached_check(engines, key)
    if found is not None:
        return found
    check = compare(reference(), candidate(), engine, precision)
    if check.passed:
        fp32_s, reduced_s = timed_pair(reference, candidate)
        check = replace(check, fp32_s=fp32_s, reduced_s=reduced_s)
    remember_check(engines, key, check)
    if not check.passed:
        log.warning("%s %s changes the answers (max relative logit error %.3g, top-1 agreement %.0f%% on the "
                    "probe): running fp32", engine, precision, check.max_rel_error, 100 * check.top1_agreement)
    return check
