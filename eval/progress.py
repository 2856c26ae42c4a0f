"""Progress of ``qa eval``'s long steps: a bar on a terminal, plain lines elsewhere (CI logs)."""

from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


class ConsoleStages:
    """``with ConsoleStages(console) as stages: stages.stage("default: asking")``."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._progress = Progress(
            TextColumn("{task.description:<44}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=not console.is_terminal,
        )

    def __enter__(self) -> "ConsoleStages":
        self._progress.__enter__()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._progress.__exit__(kind, error, trace)

    def stage(self, description: str) -> "ConsoleStage":
        return ConsoleStage(self._progress, self.console, description)


class ConsoleStage:
    def __init__(self, progress: Progress, console: Console, description: str) -> None:
        self._progress = progress
        self._console = console
        self._description = description
        self._task = progress.add_task(description, total=None)
        self._done, self._total = 0, 0

    def start(self, total: int) -> None:
        self._total = total
        self._progress.update(self._task, total=total)
        if not self._console.is_terminal:
            self._console.print(f"{self._description}: {total}", markup=False, soft_wrap=True)

    def written(self, label: str, chunks: int, total: int) -> None:
        """A long document's progress, chunk batch by batch."""
        self._progress.update(
            self._task, description=f"{self._description} {label} {chunks}/{total}"[-44:]
        )

    def advance(self, label: str, outcome: str) -> None:
        self._done += 1
        self._progress.update(
            self._task, advance=1, description=f"{self._description} {label}"[-44:]
        )
        if not self._console.is_terminal:
            # soft_wrap: one line per item however long the id, as log readers expect.
            line = f"[{self._done}/{self._total}] {outcome} {label}"
            self._console.print(line, markup=False, soft_wrap=True)
