"""One training run's settings: a frozen dataclass whose choices are enums, spelled once here for
the CLI (which offers their values), the loop and the checkpoint (which stores the values)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import Enum

from train.errors import TrainError


class Choice(str, Enum):
    """A choice: its value is what the user types, what is printed and what files store."""

    def __str__(self) -> str:
        return self.value


class Net(Choice):
    """--model: the homework's nets in models/, matched without regard to case."""

    POOL_UPSAMPLE = "PoolUpsampleNet"
    CONV_TRANSPOSE = "ConvTransposeNet"
    UNET = "UNet"

    @classmethod
    def _missing_(cls, value):
        return next((n for n in cls if n.value.lower() == str(value).lower()), None)


class Device(Choice):
    """--device: auto picks CUDA when present."""

    AUTO = "auto"
    CPU = "cpu"
    CUDA = "cuda"


class Shuffle(Choice):
    """--shuffle: once (the starter's one numpy shuffle, fixed batch order) or every epoch."""

    ONCE = "once"
    EPOCH = "epoch"


# numpy's legacy generator (the starter's npr.seed) takes seeds 0 .. 2**32 - 1 only
SEED_LIMIT = 2**32

# field, its enum, the refusal of a value that is none of its members
_CHOICES = (
    ("model", Net, f"unknown model {{!r}}; choose from {', '.join(Net)} or all"),
    ("device", Device, "--device must be auto, cpu or cuda, got {!r}"),
    ("shuffle", Shuffle, "--shuffle must be once or epoch, got {!r}"),
)


@dataclass(frozen=True)
class TrainConfig:
    """One net's training run; checked when made, stored as plain values in its checkpoint."""

    model: Net = Net.POOL_UPSAMPLE
    epochs: int = 25
    batch_size: int = 100
    lr: float = 1e-3
    kernel: int = 3
    num_filters: int = 32
    seed: int = 0
    category: int = 7
    device: Device = Device.AUTO
    bf16: bool = False
    compile: bool = False
    shuffle: Shuffle = Shuffle.ONCE
    channels_last: bool | None = None  # None: on (it helps all three nets, CPU and GPU)
    save_every: int = 1

    def __post_init__(self) -> None:
        """Choices given as strings become their enums; values no run can use are a TrainError."""
        for name, kind, unknown in _CHOICES:
            object.__setattr__(self, name, _choice(kind, getattr(self, name), unknown))
        for name in ("epochs", "batch_size", "num_filters", "save_every"):
            if getattr(self, name) < 1:
                raise TrainError(f"--{name.replace('_', '-')} must be at least 1")
        if not self.lr > 0:  # inf passes on purpose: it is how one provokes the NaN stop
            raise TrainError(f"--lr must be positive, got {self.lr}")
        check_seed(self.seed)

    def as_dict(self) -> dict:
        """Field name -> plain value (a choice as its string): what checkpoints and JSON hold."""
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}


def check_seed(seed: int) -> None:
    """TrainError unless 0 <= seed < 2**32, the seeds every generator of a run accepts."""
    if not 0 <= seed < SEED_LIMIT:
        raise TrainError(f"--seed must be 0 to 2**32 - 1 (numpy's seed range), got {seed}")


def _choice(kind: type[Choice], value, unknown: str) -> Choice:
    """value as a member of kind, else TrainError(unknown.format(value))."""
    try:
        return kind(value)
    except ValueError:
        raise TrainError(unknown.format(value)) from None


def _plain(value):
    return value.value if isinstance(value, Choice) else value
