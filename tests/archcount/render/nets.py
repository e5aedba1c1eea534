"""Small models for the render tests (a 12-block transformer, ops written in a forward)."""

from collections import OrderedDict

from torch import nn


class Encoder(nn.Module):
    """embed -> `blocks` TransformerEncoderLayers (the last one wider when `odd_last`) -> head."""

    def __init__(self, blocks: int = 12, width: int = 16, odd_last: bool = False):
        super().__init__()
        self.embed = nn.Linear(8, width)
        ffn = [32] * blocks
        if odd_last:
            ffn[-1] = 48
        self.blocks = nn.ModuleList(
            nn.TransformerEncoderLayer(width, 2, f, dropout=0.0, batch_first=True) for f in ffn
        )
        self.head = nn.Linear(width, 2)

    def forward(self, x):
        x = self.embed(x)
        for block in self.blocks:
            x = block(x)
        return self.head(x)


class Skip(nn.Module):
    """x + conv(x): the add is written in this module's forward, not in any leaf."""

    def __init__(self, channels: int = 4):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x):
        return x + self.conv(x)


class Skips(nn.Module):
    """Two Skip blocks, a head, and the model's own x * 2 at the end."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(Skip(), Skip())
        self.head = nn.Conv2d(4, 1, 1)

    def forward(self, x):
        return self.head(self.body(x)) * 2


def strided_cnn() -> nn.Module:
    """A 3x3 stem at stride 2, 20 3x3 blocks at stride 1, a 1x1 head: 64 rows."""

    def block(channels_in: int, stride: int) -> nn.Sequential:
        conv = nn.Conv2d(channels_in, 4, 3, stride=stride, padding=1)
        return nn.Sequential(conv, nn.BatchNorm2d(4), nn.ReLU())

    body = nn.Sequential(*(block(4, 1) for _ in range(20)))
    return nn.Sequential(OrderedDict(stem=block(1, 2), body=body, head=nn.Conv2d(4, 1, 1)))


def markup_net() -> nn.Module:
    """Names that rich would read as markup or an emoji code: a layer '[red]x:llama:[/]' of
    a class '[bold]Odd:llama:[/]', and a 'body' conv."""
    odd = type("[bold]Odd:llama:[/]", (nn.Conv2d,), {})
    model = nn.Sequential()
    model.add_module("body", nn.Conv2d(1, 2, 3))
    model.add_module("[red]x:llama:[/]", odd(2, 2, 1))
    return model
