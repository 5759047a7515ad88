"""A progress bar per round with the latest losses, or per any counted step (rich, on stderr so stdout stays
for results), or nothing."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


class RoundProgress:
    """``with RoundProgress(total, done, quiet=...) as bar: bar.advance(round, metrics)``; ``label`` names the
    unit counted (rounds by default; the engine also counts the clients it builds)."""

    def __init__(self, total: int, done: int, *, quiet: bool, label: str = "round") -> None:
        self._progress: Progress | None = None
        if not quiet:
            self._progress = Progress(
                TextColumn(label),
                MofNCompleteColumn(),
                BarColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                TextColumn("{task.fields[losses]}"),
                console=Console(stderr=True),
            )
            self._task = self._progress.add_task("rounds", total=total, completed=done, losses="")

    def __enter__(self) -> RoundProgress:
        if self._progress is not None:
            self._progress.start()
        return self

    def advance(self, server_round: int, metrics: dict[str, float]) -> None:
        if self._progress is not None:
            losses = "  ".join(f"{k} {v:.3f}" for k, v in metrics.items() if "loss" in k)
            self._progress.update(self._task, completed=server_round, losses=losses)

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
