"""The MindSpore Hub ``evaluation:`` string, as metrics.

Real values: ``top1acc81.28 | top5acc95.61``, ``acc92``, ``F1score61.94``,
``whole81.97 | core77.78``, ``mAP0.241``, free text, ``-``. Each ``|``-separated
part is a metric name glued to a number; what does not read that way is kept
aside so lint can point at it, and the raw text is always kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_PART = re.compile(r"^(?P<name>.*?[A-Za-z][^\s:=]*?)\s*[:=]?\s*(?P<value>[-+]?\d+(?:\.\d+)?)\s*%?$")
_SPLIT = re.compile(r"\s*[|;]\s*")


@dataclass(frozen=True)
class Evaluation:
    raw: str
    metrics: dict[str, float] = field(default_factory=dict)
    #: Parts that are not ``name<number>``.
    unparsed: tuple[str, ...] = ()
    #: Metrics named twice, as (name, first value, later value); the first is kept.
    duplicates: tuple[tuple[str, float, float], ...] = ()

    @property
    def ok(self) -> bool:
        return bool(self.metrics)


def parse(text: str) -> Evaluation:
    metrics: dict[str, float] = {}
    unparsed: list[str] = []
    duplicates: list[tuple[str, float, float]] = []
    for part in _SPLIT.split(text.strip()):
        if not part:
            continue
        m = _PART.match(part)
        if not m:
            unparsed.append(part)
            continue
        name, value = m.group("name").strip(), float(m.group("value"))
        if name in metrics:
            duplicates.append((name, metrics[name], value))
        else:
            metrics[name] = value
    return Evaluation(text, metrics, tuple(unparsed), tuple(duplicates))
