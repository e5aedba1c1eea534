"""`python -m train`: train the colorization nets; a thin typer wrapper over train_model."""

from __future__ import annotations

import contextlib
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from train import heap
from train.errors import user_errors

if TYPE_CHECKING:  # torch loads inside the command, so `--help` (and other commands) stay fast
    from train.loop import RunResult, TrainConfig

app = typer.Typer(
    add_completion=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
    help=(
        "Train PoolUpsampleNet / ConvTransposeNet / UNet to colour grayscale CIFAR-10 pictures, "
        "as the homework's starter code does (one shuffle, fixed batch order). Several "
        "processes: torchrun --nproc_per_node N -m train ..."
    ),
)
console = Console()
err_console = Console(stderr=True)
OWN_PROCESS = "own_process"  # ctx.obj key: main() runs the command as the whole process


class ModelChoice(str, Enum):
    """--model: one net or all three in turn (matched without regard to case)."""

    PoolUpsampleNet = "PoolUpsampleNet"
    ConvTransposeNet = "ConvTransposeNet"
    UNet = "UNet"
    all = "all"


class ShuffleChoice(str, Enum):
    """--shuffle: once (the starter's fixed batch order) or a new order every epoch."""

    once = "once"
    epoch = "epoch"


class DeviceChoice(str, Enum):
    """--device: auto picks CUDA when present."""

    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


@app.callback(invoke_without_command=True)
def train_command(
    ctx: typer.Context,
    model: Annotated[
        ModelChoice, typer.Option(case_sensitive=False, help="Net to train, or all three.")
    ] = ModelChoice.all,
    epochs: Annotated[int, typer.Option(help="Epochs per net.")] = 25,
    batch_size: Annotated[int, typer.Option(help="Images per step.")] = 100,
    lr: Annotated[float, typer.Option(help="Adam learning rate.")] = 1e-3,
    kernel: Annotated[
        int, typer.Option(help="Conv kernel size k (any k >= 1; even k pads asymmetrically).")
    ] = 3,
    num_filters: Annotated[int, typer.Option(help="NF, filters of the first layer.")] = 32,
    seed: Annotated[int, typer.Option(help="Seeds weights, shuffling, k-means.")] = 0,
    data_dir: Annotated[Path, typer.Option(help="cifar-10-batches-py/ or its parent.")] = Path(
        "data"
    ),
    palette: Annotated[
        Path | None, typer.Option(help="(K,3) .npy RGB palette in [0,1]; default: k-means, 24.")
    ] = None,
    category: Annotated[int, typer.Option(help="CIFAR-10 class, 7 = horse.")] = 7,
    run_dir: Annotated[Path, typer.Option(help="Outputs go to RUN_DIR/<net>/.")] = Path(
        "runs/colorize"
    ),
    device: Annotated[DeviceChoice, typer.Option(help="auto: CUDA when present.")] = (
        DeviceChoice.auto
    ),
    bf16: Annotated[bool, typer.Option(help="bf16 autocast.")] = False,
    compile: Annotated[
        bool, typer.Option(help="torch.compile on full batches (CUDA: CUDA graphs).")
    ] = False,
    shuffle: Annotated[
        ShuffleChoice,
        typer.Option(help="once: the starter's one numpy shuffle, fixed order; epoch: reshuffle."),
    ] = ShuffleChoice.once,
    channels_last: Annotated[
        bool | None,
        typer.Option(
            "--channels-last/--no-channels-last", help="NHWC weights (default on: faster)."
        ),
    ] = None,
    threads: Annotated[
        int | None, typer.Option(min=1, help="CPU threads for torch (default: torch's).")
    ] = None,
    save_every: Annotated[
        int, typer.Option(min=1, help="Checkpoint every N epochs, and after the last.")
    ] = 1,
    resume: Annotated[bool, typer.Option(help="Continue from RUN_DIR's checkpoints.")] = False,
    debug: Annotated[bool, typer.Option(help="Show tracebacks.")] = False,
) -> None:
    """Train the nets (the default command): metrics, curves.png, samples.png, checkpoints."""
    if ctx.invoked_subcommand is not None:
        return
    owned = isinstance(ctx.obj, dict) and ctx.obj.get(OWN_PROCESS)
    with heap.frozen_after() if owned else contextlib.nullcontext():  # torch's import: frozen
        from train.loop import TrainConfig

    names = [m.value for m in ModelChoice if m is not ModelChoice.all]
    configs = [
        TrainConfig(name, epochs, batch_size, lr, kernel, num_filters, seed, category)
        for name in (names if model is ModelChoice.all else [model.value])
    ]
    for cfg in configs:
        cfg.device, cfg.bf16, cfg.compile = device.value, bf16, compile
        cfg.shuffle, cfg.channels_last, cfg.save_every = shuffle.value, channels_last, save_every
    with user_errors(debug):
        if threads is not None:
            import torch

            torch.set_num_threads(threads)
        run_training(configs, data_dir, palette, run_dir, resume)


def run_training(
    configs: list[TrainConfig], data_dir: Path, palette: Path | None, run_dir: Path, resume: bool
) -> list[RunResult]:
    """Load the data once, train each config, print its table, then the comparison.

    Under torchrun every process trains; rank 0 alone prints and writes."""
    from archcount.files import dumps, write_atomic
    from train import distrib
    from train.checkpoint import prepare_run_dir
    from train.cost import run_cost
    from train.data import load_colorization
    from train.loop import Hooks, train_model, validate_config
    from train.report import comparison_rows, comparison_table, epoch_table, rich_hooks

    dist = distrib.from_env()
    for cfg in configs:
        validate_config(cfg)
    if dist.main:  # fail on unwritable outputs before minutes of loading and training
        for cfg in configs:
            prepare_run_dir(run_dir / cfg.model)
    data = load_colorization(data_dir, configs[0].category, palette, seed=configs[0].seed)
    seen: set[str] = set()
    for note in data.notes if dist.main else ():
        err_console.print(f"[yellow]note:[/yellow] {escape(note)}", soft_wrap=True)
    results = []
    for cfg in configs:  # the process group, if any, is left at exit (distrib.init)
        if not dist.main:
            results.append(train_model(cfg, data, run_dir / cfg.model, resume, Hooks(), dist))
            continue
        console.print(run_cost(cfg, len(data.train_x), data.num_colours).line(), highlight=False)
        with rich_hooks(console, err_console, cfg.model, cfg.epochs, seen) as hooks:
            results.append(train_model(cfg, data, run_dir / cfg.model, resume, hooks, dist))
        console.print(epoch_table(results[-1]))
        console.print(f"outputs: {escape(str(run_dir / cfg.model))}/", highlight=False)
    if not dist.main:
        return results
    rows = comparison_rows(results)
    write_atomic(run_dir / "comparison.json", dumps(rows, "comparison.json"))
    if len(results) > 1:
        console.print(comparison_table(rows))
    return results


def main() -> None:
    """Console entry point: the process is ours, so the garbage collector is set for a short
    run (train.heap); app() called otherwise (CliRunner, tests) leaves it alone."""
    try:
        app(obj={OWN_PROCESS: True})
    finally:
        heap.freeze()  # however the command ends: the exit's collection skips what is alive


# theory and sweep register on `app`, so they are imported after it exists
from train.theory_cli import register as _register_theory  # noqa: E402

_register_theory(app)
