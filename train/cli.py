"""`python -m train`: train the colorization nets; a thin typer wrapper over train_model."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from train.errors import user_errors

if TYPE_CHECKING:  # torch loads inside the command, so `--help` (and other commands) stay fast
    from train.loop import RunResult, TrainConfig

app = typer.Typer(
    add_completion=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
    help="Train PoolUpsampleNet / ConvTransposeNet to colour grayscale CIFAR-10 pictures.",
)
console = Console()
err_console = Console(stderr=True)


class ModelChoice(str, Enum):
    """--model: one net or both in turn."""

    PoolUpsampleNet = "PoolUpsampleNet"
    ConvTransposeNet = "ConvTransposeNet"
    all = "all"


class DeviceChoice(str, Enum):
    """--device: auto picks CUDA when present."""

    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


@app.callback(invoke_without_command=True)
def train_command(
    ctx: typer.Context,
    model: Annotated[ModelChoice, typer.Option(help="Net to train, or all.")] = ModelChoice.all,
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
    compile: Annotated[bool, typer.Option(help="torch.compile the net.")] = False,
    resume: Annotated[bool, typer.Option(help="Continue from RUN_DIR's checkpoints.")] = False,
    debug: Annotated[bool, typer.Option(help="Show tracebacks.")] = False,
) -> None:
    """Train the nets (the default command): metrics, curves.png, samples.png, checkpoints."""
    if ctx.invoked_subcommand is not None:
        return
    from train.loop import TrainConfig

    names = [m.value for m in ModelChoice if m is not ModelChoice.all]
    configs = [
        TrainConfig(name, epochs, batch_size, lr, kernel, num_filters, seed, category)
        for name in (names if model is ModelChoice.all else [model.value])
    ]
    for cfg in configs:
        cfg.device, cfg.bf16, cfg.compile = device.value, bf16, compile
    with user_errors(debug):
        run_training(configs, data_dir, palette, run_dir, resume)


def run_training(
    configs: list[TrainConfig], data_dir: Path, palette: Path | None, run_dir: Path, resume: bool
) -> list[RunResult]:
    """Load the data once, train each config, print its table, then the comparison."""
    from train.checkpoint import atomic_write, prepare_run_dir
    from train.cost import run_cost
    from train.data import load_colorization
    from train.loop import train_model, validate_config
    from train.report import comparison_rows, comparison_table, epoch_table, rich_hooks

    for cfg in configs:
        validate_config(cfg)
    prepare_run_dir(run_dir)  # fail on an unwritable run dir before minutes of loading
    data = load_colorization(data_dir, configs[0].category, palette, seed=configs[0].seed)
    seen: set[str] = set()
    for note in data.notes:
        err_console.print(f"[yellow]note:[/yellow] {escape(note)}", soft_wrap=True)
    results = []
    for cfg in configs:
        console.print(run_cost(cfg, len(data.train_x), data.num_colours).line(), highlight=False)
        with rich_hooks(console, err_console, cfg.model, cfg.epochs, seen) as hooks:
            results.append(train_model(cfg, data, run_dir / cfg.model, resume, hooks))
        console.print(epoch_table(results[-1]))
        console.print(f"outputs: {escape(str(run_dir / cfg.model))}/", highlight=False)
    rows = comparison_rows(results)
    atomic_write(run_dir / "comparison.json", json.dumps(rows, indent=2).encode())
    if len(results) > 1:
        console.print(comparison_table(rows))
    return results


def main() -> None:
    """Console entry point."""
    app()


# theory and sweep register on `app`, so they are imported after it exists
from train.theory_cli import register as _register_theory  # noqa: E402

_register_theory(app)
