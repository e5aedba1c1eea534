"""Rich rendering of training: progress bars, per-epoch lines, tables; prints to its consoles."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from train.loop import Hooks, RunResult


class RichHooks(Hooks):
    """Progress bar over each epoch's steps, one line per finished epoch; notes go to err."""

    def __init__(self, console: Console, err: Console, label: str, epochs: int, seen: set[str]):
        self.console, self.err, self.label, self.epochs, self.seen = (
            console,
            err,
            label,
            epochs,
            seen,
        )
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,  # the bar disappears; the epoch lines and the table stay
        )
        self.task = None

    def note(self, message: str) -> None:
        """Print each distinct note once per command (the CPU note would repeat per net)."""
        if message not in self.seen:
            self.seen.add(message)
            self.err.print(f"[yellow]note:[/yellow] {escape(message)}", soft_wrap=True)

    def epoch_start(self, epoch: int, steps: int) -> None:
        desc = f"{self.label} epoch {epoch}/{self.epochs}"
        if self.task is None:
            self.task = self.progress.add_task(desc, total=steps)
        else:
            self.progress.reset(self.task, total=steps, description=desc)

    def step(self) -> None:
        self.progress.advance(self.task)

    def epoch_end(self, row: dict) -> None:
        self.progress.console.print(epoch_line(self.label, self.epochs, row), highlight=False)


@contextlib.contextmanager
def rich_hooks(
    console: Console, err: Console, label: str, epochs: int, seen: set[str]
) -> Iterator[RichHooks]:
    """RichHooks whose live progress display is stopped however training ends."""
    hooks = RichHooks(console, err, label, epochs, seen)
    hooks.progress.start()
    try:
        yield hooks
    finally:
        hooks.progress.stop()


def epoch_line(label: str, epochs: int, row: dict) -> str:
    """'Net epoch 3/25  train 2.56 (19.7%)  val 3.02 (8.0%)  5.6 s'."""
    return (
        f"{label} epoch {row['epoch']}/{epochs}  "
        f"train {row['train_loss']:.4f} ({row['train_acc']:.1%})  "
        f"val {row['val_loss']:.4f} ({row['val_acc']:.1%})  {row['seconds']:.1f} s"
    )


def epoch_table(result: RunResult) -> Table:
    """All epochs of one run: losses, accuracies, seconds."""
    table = Table(title=f"{result.config.model} ({result.params:,} parameters)")
    for name in ("epoch", "train loss", "train acc", "val loss", "val acc", "time (s)"):
        table.add_column(name, justify="right")
    for row in result.metrics:
        table.add_row(
            str(row["epoch"]),
            f"{row['train_loss']:.4f}",
            f"{row['train_acc']:.1%}",
            f"{row['val_loss']:.4f}",
            f"{row['val_acc']:.1%}",
            f"{row['seconds']:.2f}",
        )
    return table


def comparison_rows(results: list[RunResult]) -> list[dict]:
    """One dict per net: final validation loss and accuracy, parameters, mean seconds per epoch."""
    rows = []
    for res in results:
        last = res.metrics[-1] if res.metrics else {}
        seconds = [row["seconds"] for row in res.metrics]
        rows.append(
            {
                "model": res.config.model,
                "epochs": len(res.metrics),
                "val_loss": last.get("val_loss"),
                "val_acc": last.get("val_acc"),
                "params": res.params,
                "seconds_per_epoch": sum(seconds) / len(seconds) if seconds else None,
            }
        )
    return rows


def comparison_table(rows: list[dict]) -> Table:
    """The homework's comparison: validation loss, accuracy, parameters, time per epoch."""
    table = Table(title="Comparison (final epoch)")
    for name in ("model", "epochs", "val loss", "val acc", "parameters", "s / epoch"):
        table.add_column(name, justify="left" if name == "model" else "right")
    for row in rows:
        table.add_row(
            row["model"],
            str(row["epochs"]),
            "-" if row["val_loss"] is None else f"{row['val_loss']:.4f}",
            "-" if row["val_acc"] is None else f"{row['val_acc']:.1%}",
            f"{row['params']:,}",
            "-" if row["seconds_per_epoch"] is None else f"{row['seconds_per_epoch']:.2f}",
        )
    return table
