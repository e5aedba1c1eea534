"""Models with a `kernel` argument for `archcount padding TARGET` (tests put this on sys.path)."""

from torch import nn


class Mixed1d(nn.Module):
    """Dilated conv, strided conv, transposed conv (1-D); padding k//2 is wrong for some k."""

    def __init__(self, kernel: int = 3):
        super().__init__()
        self.dilated = nn.Conv1d(2, 4, kernel, dilation=2, padding=kernel // 2 * 2)
        self.down = nn.Conv1d(4, 4, kernel, stride=3, padding=kernel // 2)
        self.up = nn.ConvTranspose1d(4, 2, kernel, stride=3, padding=kernel // 2, output_padding=2)
        self.fixed = nn.Conv1d(2, 2, 1)  # its kernel does not follow `kernel`

    def forward(self, x):
        return self.fixed(self.up(self.down(self.dilated(x))))


class Volume(nn.Module):
    """A strided Conv3d with unequal strides, then a ConvTranspose3d back up."""

    def __init__(self, kernel: int = 3):
        super().__init__()
        self.down = nn.Conv3d(1, 2, kernel, stride=(1, 2, 2), padding=1)
        self.up = nn.ConvTranspose3d(
            2, 1, kernel, stride=(1, 2, 2), padding=1, output_padding=(0, 1, 1)
        )

    def forward(self, x):
        return self.up(self.down(x))


class Grow(nn.Module):
    """A stride-1 transposed conv with no padding: a smaller kernel cannot reach its output."""

    def __init__(self, kernel: int = 3):
        super().__init__()
        self.up = nn.ConvTranspose2d(1, 1, kernel)

    def forward(self, x):
        return self.up(x)


class NoConv(nn.Module):
    """No conv at all."""

    def __init__(self, kernel: int = 3):
        super().__init__()
        self.fc = nn.Linear(32, 4)

    def forward(self, x):
        return self.fc(x)
