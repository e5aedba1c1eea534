"""`theory` and `sweep` commands: thin typer wrappers over the experiments theory and sweep."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from train.config import Device, Net, check_seed
from train.errors import TrainError, user_errors
from train.experiments.sweep import (
    LrScaling,
    SweepPoint,
    SweepResult,
    as_dict,
    parse_batch_sizes,
    plot,
    run_sweep,
)

DEFAULT_SIZES = "8,16,32,64,128,256"
TICK, CROSS = "[green]✓[/green]", "[red]✗[/red]"


def theory(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON, not a table.")] = False,
):
    """Run the homework's optimisation results (items 1–4) and check each: ✓ or ✗."""
    from train.experiments.theory import run_all

    results = run_all()
    if as_json:
        from archcount.files import dumps

        print(dumps([r.as_dict() for r in results], "theory --json"))
    else:
        table = Table("", "claim", "measured", title="optimisation theory", show_lines=True)
        for r in results:
            measured = "\n".join(f"{name} = {value:.6g}" for name, value in r.measured)
            claim = f"{r.claim}\n[dim]tolerance: {r.tolerance}[/dim]"
            table.add_row(TICK if r.passed else CROSS, claim, measured)
        Console().print(table)
    if not all(r.passed for r in results):
        raise typer.Exit(1)


def _make_model(name: Net, num_filters: int, num_colours: int, device=None):
    """A factory for the chosen net with 1 input channel and num_colours outputs, on device."""
    from train.loop import NETS, check_size

    check_size(name, 3, num_filters, num_colours)
    cls = NETS[name]
    return lambda: cls(
        kernel=3, num_filters=num_filters, num_colours=num_colours, num_in_channels=1
    ).to(device)


def _render_sweep(result: SweepResult, plot_path: Path) -> None:
    """Rich tables: steps per batch size (✓ reached / ✗ not), then the slope of each segment."""
    console = Console()
    table = Table("B", "lr", "steps to target", "best val loss", "", title=f"{result.model} sweep")
    for p in result.points:
        steps = str(p.steps) if p.steps is not None else f"not reached in {result.max_steps}"
        mark = TICK if p.steps is not None else CROSS
        table.add_row(str(p.batch_size), f"{p.lr:.3g}", steps, f"{p.best_val_loss:.4f}", mark)
    console.print(table)
    regimes = Table("batch sizes", "slope d log steps / d log B", "regime")
    for s in result.segments:
        regimes.add_row(f"{s.b_lo} → {s.b_hi}", f"{s.slope:+.2f}", s.regime.value)
    console.print(regimes)
    console.print(
        f"target val loss {result.target_loss:g}, evaluated every {result.eval_every} steps"
    )
    console.print(f"plot: {plot_path}", highlight=False)


def _progress(point: SweepPoint) -> None:
    """One stderr line per finished batch size, so a minutes-long sweep shows it is alive."""
    steps = point.steps if point.steps is not None else "not reached"
    Console(stderr=True).print(f"[dim]B={point.batch_size}: {steps}[/dim]", highlight=False)


def _check_sweep_options(
    target_loss: float, max_steps: int, eval_every: int, lr: float, seed: int
) -> None:
    """Positive target, steps, eval interval and learning rate, a usable seed, else TrainError."""
    if not target_loss > 0:
        raise TrainError(f"--target-loss must be positive, got {target_loss}")
    if max_steps < 1 or eval_every < 1:
        raise TrainError(
            f"--max-steps and --eval-every must be >= 1, got {max_steps}, {eval_every}"
        )
    if not lr > 0:
        raise TrainError(f"--lr must be positive, got {lr}")
    check_seed(seed)


def sweep(
    batch_sizes: Annotated[str, typer.Option(help="Comma-separated batch sizes.")] = DEFAULT_SIZES,
    model: Annotated[Net, typer.Option(case_sensitive=False)] = Net.POOL_UPSAMPLE,
    target_loss: Annotated[float, typer.Option(help="Validation cross-entropy to reach.")] = 1.9,
    max_steps: Annotated[int, typer.Option(help="Give up on a batch size after this.")] = 1000,
    data_dir: Annotated[Path, typer.Option(help="CIFAR-10 python batches.")] = Path("data"),
    palette: Annotated[Path | None, typer.Option(help=".npy palette; default k-means.")] = None,
    num_filters: Annotated[int, typer.Option(help="The net's num_filters.")] = 32,
    lr: Annotated[float, typer.Option(help="Adam lr at the smallest batch size.")] = 1e-3,
    lr_scaling: Annotated[LrScaling, typer.Option(help="How lr grows with B.")] = LrScaling.SQRT,
    eval_every: Annotated[int, typer.Option(help="Steps between validation losses.")] = 5,
    seed: Annotated[int, typer.Option(help="Seed of weights and batch order.")] = 0,
    out: Annotated[Path, typer.Option(help="Folder for sweep.png, sweep.json.")] = Path(
        "sweep_out"
    ),
    device: Annotated[Device, typer.Option(help="auto, cpu or cuda (data resident on it).")] = (
        Device.AUTO
    ),
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON, not tables.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show the traceback on errors.")] = False,
):
    """Steps to reach a target validation loss per batch size; log-log plot with regimes."""
    from archcount.files import dumps
    from train.checkpoint import check_writable

    with user_errors(debug):
        sizes = parse_batch_sizes(batch_sizes)
        _check_sweep_options(target_loss, max_steps, eval_every, lr, seed)
        if num_filters < 1:
            raise TrainError(f"--num-filters must be at least 1, got {num_filters}")
        check_writable(out)  # an unwritable --out fails now, not after minutes of training
        data = _load(data_dir, palette, device)
        factory = _make_model(model, num_filters, data.num_colours, data.train_x.device)
        result = run_sweep(
            factory, data, sizes, target_loss, max_steps, lr, lr_scaling, eval_every, seed,
            model.value, on_point=_progress,
        )  # fmt: skip
        for note in data.notes:  # e.g. checksums of a partial copy: worth a line, not an error
            Console(stderr=True).print(f"[yellow]note:[/yellow] {escape(note)}", soft_wrap=True)
        doc, plot_path = _save_sweep(result, out)
    if as_json:
        print(dumps({**doc, "plot": str(plot_path)}))
    else:
        _render_sweep(result, plot_path)


def _load(data_dir: Path, palette: Path | None, device: Device):
    """The data set, its four tensors moved to the device (the sweep indexes them there)."""
    import dataclasses

    from train.data.cifar import load_colorization
    from train.loop import Hooks, resolve_device

    dev = resolve_device(device, Hooks())
    data = load_colorization(data_dir, palette=palette)
    moved = {k: getattr(data, k).to(dev) for k in ("train_x", "train_y", "test_x", "test_y")}
    return dataclasses.replace(data, **moved)


def _save_sweep(result: SweepResult, out: Path) -> tuple[dict, Path]:
    """sweep.png and sweep.json in out; the JSON document (non-finite numbers as null)."""
    from archcount.files import dumps, strict, write_atomic

    plot_path = plot(result, out / "sweep.png")
    doc = strict(as_dict(result), "sweep.json")  # warned once: the file and --json share it
    write_atomic(out / "sweep.json", dumps(doc))
    return doc, plot_path


def register(app: typer.Typer) -> None:
    """Add the `theory` and `sweep` commands to the training CLI's app."""
    app.command("theory")(theory)
    app.command("sweep")(sweep)
