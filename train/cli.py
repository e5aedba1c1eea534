"""`python -m train`: train the colorization nets; a thin typer wrapper over train_model."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from archcount.cli.group import OneLineGroup
from train.config import Choice, Device, Net, Shuffle
from train.errors import user_errors
from train.experiments.cli import register as _register_experiments
from train.run_lock import NET_OUTPUTS, RUN_OUTPUTS

if TYPE_CHECKING:  # torch loads inside the command, so `--help` (and other commands) stay fast
    from train.config import TrainConfig
    from train.loop import RunResult


# --threads: more threads than the CPUs this process may run on only oversubscribe (and a huge
# count makes torch's pool crash the process), so the machine bounds it
CPUS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1

app = typer.Typer(
    cls=OneLineGroup,
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
# --model: a net, or all three in turn
NetOrAll = Choice("NetOrAll", {**{net.name: net.value for net in Net}, "ALL": "all"})


# the options, declared once; the command below lists them
ModelOpt = Annotated[
    NetOrAll, typer.Option(case_sensitive=False, help="Net to train, or all three.")
]
Epochs = Annotated[int, typer.Option(help="Epochs per net.")]
BatchSize = Annotated[int, typer.Option(help="Images per step.")]
Lr = Annotated[float, typer.Option(help="Adam learning rate.")]
Kernel = Annotated[
    int, typer.Option(help="Conv kernel size k (any k >= 1; even k pads asymmetrically).")
]
NumFilters = Annotated[int, typer.Option(help="NF, filters of the first layer.")]
Seed = Annotated[int, typer.Option(help="Seeds weights, shuffling, k-means.")]
DataDir = Annotated[Path, typer.Option(help="cifar-10-batches-py/ or its parent.")]
PaletteOpt = Annotated[
    Path | None, typer.Option(help="(K,3) .npy RGB palette in [0,1]; default: k-means, 24.")
]
Category = Annotated[int, typer.Option(help="CIFAR-10 class, 7 = horse.")]
RunDir = Annotated[Path, typer.Option(help="Outputs go to RUN_DIR/<net>/.")]
DeviceOpt = Annotated[Device, typer.Option(help="auto: CUDA when present.")]
Bf16 = Annotated[bool, typer.Option(help="bf16 autocast.")]
Compile = Annotated[bool, typer.Option(help="torch.compile on full batches (CUDA: CUDA graphs).")]
ShuffleOpt = Annotated[
    Shuffle,
    typer.Option(help="once: the starter's one numpy shuffle, fixed order; epoch: reshuffle."),
]
ChannelsLast = Annotated[
    bool | None,
    typer.Option("--channels-last/--no-channels-last", help="NHWC weights (default on: faster)."),
]
Threads = Annotated[
    int | None,
    typer.Option(
        min=1,
        max=CPUS,
        help=f"CPU threads for torch, 1 to this machine's {CPUS} CPUs (default: torch's).",
    ),
]
SaveEvery = Annotated[
    int, typer.Option(min=1, help="Checkpoint every N epochs, and after the last.")
]
Resume = Annotated[bool, typer.Option(help="Continue from RUN_DIR's checkpoints.")]
Debug = Annotated[bool, typer.Option(help="Show tracebacks.")]


@app.callback(invoke_without_command=True)
def train_command(
    ctx: typer.Context,
    model: ModelOpt = NetOrAll.ALL,
    epochs: Epochs = 25,
    batch_size: BatchSize = 100,
    lr: Lr = 1e-3,
    kernel: Kernel = 3,
    num_filters: NumFilters = 32,
    seed: Seed = 0,
    data_dir: DataDir = Path("data"),
    palette: PaletteOpt = None,
    category: Category = 7,
    run_dir: RunDir = Path("runs/colorize"),
    device: DeviceOpt = Device.AUTO,
    bf16: Bf16 = False,
    compile: Compile = False,
    shuffle: ShuffleOpt = Shuffle.ONCE,
    channels_last: ChannelsLast = None,
    threads: Threads = None,
    save_every: SaveEvery = 1,
    resume: Resume = False,
    debug: Debug = False,
) -> None:
    """Train the nets (the default command): metrics, curves.png, samples.png, checkpoints."""
    if ctx.invoked_subcommand is not None:
        return
    from train.config import TrainConfig

    with user_errors(debug):
        configs = [
            TrainConfig(
                model=net, epochs=epochs, batch_size=batch_size, lr=lr, kernel=kernel,
                num_filters=num_filters, seed=seed, category=category, device=device, bf16=bf16,
                compile=compile, shuffle=shuffle, channels_last=channels_last,
                save_every=save_every,
            )
            for net in (Net if model is NetOrAll.ALL else [Net(model.value)])
        ]  # fmt: skip
        if threads is not None:
            import torch

            torch.set_num_threads(threads)
        run_training(configs, data_dir, palette, run_dir, resume)


def run_training(
    configs: list[TrainConfig], data_dir: Path, palette: Path | None, run_dir: Path, resume: bool
) -> list[RunResult]:
    """Load the data once, train each config, print its table, then the comparison.

    Under torchrun every process trains; rank 0 alone prints, writes and locks the run folder."""
    from train import distributed
    from train.data.cifar import load_colorization

    dist = distributed.from_env()
    with _owned(run_dir, configs) if dist.main else contextlib.nullcontext():
        data = load_colorization(data_dir, configs[0].category, palette, seed=configs[0].seed)
        for note in data.notes if dist.main else ():
            err_console.print(f"[yellow]note:[/yellow] {escape(note)}", soft_wrap=True)
        seen: set[str] = set()
        results = [_train_one(cfg, data, run_dir, resume, dist, seen) for cfg in configs]
        if dist.main:
            _compare(results, run_dir)
    return results  # the process group, if any, is left at exit (distributed.init)


@contextlib.contextmanager
def _owned(run_dir: Path, configs: list[TrainConfig]) -> Iterator[None]:
    """The run folders made and proven writable (before minutes of loading and training), the
    run folder locked for the run, and what a killed run left half-written removed."""
    from train.checkpoint import prepare_run_dir
    from train.run_lock import locked, remove_stale_temps

    for cfg in configs:
        prepare_run_dir(run_dir / cfg.model)
    with locked(run_dir):
        for path in remove_stale_temps(run_dir, [str(cfg.model) for cfg in configs]):
            err_console.print(
                f"[yellow]note:[/yellow] removed {escape(str(path))}, left by a killed run",
                soft_wrap=True,
            )
        yield


def _train_one(cfg: TrainConfig, data, run_dir: Path, resume: bool, dist, seen: set[str]):
    """One net: its cost line, a progress bar, its table (rank 0); silent on other ranks."""
    from train.cost import run_cost
    from train.loop import Hooks, train_model
    from train.report import epoch_table, rich_hooks

    if not dist.main:
        return train_model(cfg, data, run_dir / cfg.model, resume, Hooks(), dist)
    console.print(run_cost(cfg, len(data.train_x), data.num_colours).line(), highlight=False)
    with rich_hooks(console, err_console, cfg.model, cfg.epochs, seen) as hooks:
        result = train_model(cfg, data, run_dir / cfg.model, resume, hooks, dist)
    console.print(epoch_table(result))
    _say_written(run_dir / cfg.model, NET_OUTPUTS)
    return result


def _say_written(folder: Path, names: tuple[str, ...]) -> None:
    """'wrote runs/colorize/UNet/: checkpoint.pt (PyTorch checkpoint, 623,396 bytes), …' on
    stderr, as archcount says each file it writes: the files, their formats and sizes."""
    from archcount.cli.output import described

    files = ", ".join(f"{n} ({described(folder / n)})" for n in names if (folder / n).is_file())
    print(f"wrote {folder}/: {files}", file=sys.stderr)  # plain: a path is never rich markup


def _compare(results: list[RunResult], run_dir: Path) -> None:
    """comparison.json, and the comparison table when more than one net was trained."""
    from archcount.files import dumps, write_atomic
    from train.report import comparison_rows, comparison_table

    rows = comparison_rows(results)
    write_atomic(run_dir / RUN_OUTPUTS[0], dumps(rows, RUN_OUTPUTS[0]))
    _say_written(run_dir, RUN_OUTPUTS)
    if len(results) > 1:
        console.print(comparison_table(rows))


_register_experiments(app)
