"""A rich progress bar per transfer (bytes, speed, ETA), for the CLI on a terminal only."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)


class RichBars:
    """``ProgressFactory`` for ``fetcher``: ``bars(name)`` gives the sink of one transfer."""

    def __init__(self) -> None:
        # On stderr: stdout carries the paths, for scripts.
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                                 TransferSpeedColumn(), TimeRemainingColumn(), transient=False,
                                 console=Console(stderr=True))

    def __enter__(self) -> RichBars:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def __call__(self, name: str) -> _Bar:
        return _Bar(self.progress, name)


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
