"""A rich progress bar per transfer (bytes, speed, ETA), for the CLI on a terminal only."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.text import Text


class _Amounts(ProgressColumn):
    """Bytes, speed and time left for a transfer; the time taken for a step, which has no bytes."""

    def __init__(self) -> None:
        super().__init__()
        self.transfer = (DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn())
        self.elapsed = TimeElapsedColumn()

    def render(self, task: Task) -> Text:
        if task.fields.get("step"):
            return self.elapsed.render(task)
        return Text(" ").join(column.render(task) for column in self.transfer)


class RichBars:
    """``ProgressFactory`` for ``fetcher``: ``bars(name)`` gives the sink of one transfer; ``step(text)`` shows a
    step of the loader that may take seconds (``accelerate.Step``)."""

    def __init__(self, console: Console | None = None) -> None:
        # On stderr: stdout carries the paths, for scripts.
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), _Amounts(), transient=False,
                                 console=console or Console(stderr=True))

    def __enter__(self) -> RichBars:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def __call__(self, name: str) -> _Bar:
        return _Bar(self.progress, name)

    @contextmanager
    def step(self, text: str) -> Iterator[None]:
        task = self.progress.add_task(text, total=None, step=True)
        try:
            yield
        finally:
            self.progress.update(task, total=1, completed=1)
            self.progress.stop_task(task)


class _Bar:
    def __init__(self, progress: Progress, name: str) -> None:
        self.progress = progress
        self.name = name
        self.task: TaskID | None = None

    def start(self, name: str, total: int | None, done: int) -> None:
        if self.task is None:
            self.task = self.progress.add_task(name or self.name, total=total, completed=done)
        else:  # a retry: the server may have sent the whole file again
            self.progress.update(self.task, total=total, completed=done)

    def advance(self, n: int) -> None:
        if self.task is not None:
            self.progress.advance(self.task, n)

    def finish(self) -> None:
        pass


class EvalBar:
    """``evaluate``'s progress on a terminal: images done of all, images/s, and the running top-1."""

    def __init__(self, name: str) -> None:
        from rich.progress import MofNCompleteColumn, TimeElapsedColumn

        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[rate]:.1f} img/s"), TextColumn("top-1 {task.fields[top1]}"),
                                 TimeElapsedColumn(), TimeRemainingColumn(), console=Console(stderr=True))
        self.task = self.progress.add_task(name, total=None, rate=0.0, top1="-")
        self.start = 0.0

    def __enter__(self) -> EvalBar:
        import time

        self.start = time.perf_counter()
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def __call__(self, done: int, total: int, top1: float) -> None:
        import time

        rate = done / max(time.perf_counter() - self.start, 1e-9)
        self.progress.update(self.task, completed=done, total=total, rate=rate, top1=f"{top1:.2f}%")
