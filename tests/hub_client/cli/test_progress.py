"""The CLI's progress lines: a transfer shows its bytes, speed and time left; a step of the loader (an engine
built, a precision checked) shows its words and the time it took; the loader reports its steps only where the
progress factory can draw them."""

from __future__ import annotations

import io
from contextlib import contextmanager

from rich.console import Console

from hub_client.cli.progress import RichBars
from hub_client.models import accelerate


def test_a_step_shows_its_words_and_time_and_a_transfer_its_bytes():
    out = io.StringIO()
    with RichBars(Console(file=out, force_terminal=True, width=140)) as bars:
        with bars.step("building the OpenVINO engine of convnext_tiny (once)"):
            pass
        sink = bars("w.ckpt")
        sink.start("w.ckpt", 2048, 0)
        sink.advance(2048)
        sink.finish()
    text = out.getvalue()
    assert "building the OpenVINO engine of convnext_tiny (once)" in text and "0:00:00" in text
    assert "2.0/2.0 kB" in text
    step, transfer = bars.progress.tasks
    assert step.finished and step.fields == {"step": True} and transfer.completed == 2048


def test_the_loader_reports_steps_only_to_a_factory_that_draws_them():
    seen: list[str] = []

    class Recording:
        def __call__(self, name: str) -> None:  # transfers: not used here
            raise AssertionError(name)

        @contextmanager
        def step(self, text: str):
            seen.append(text)
            yield

    with accelerate.steps_of(Recording())("checking bf16 on x (once)"):
        pass
    assert seen == ["checking bf16 on x (once)"]
    for plain in (None, lambda name: None):  # no progress, or one that draws transfers only
        assert accelerate.steps_of(plain) is accelerate.no_step
