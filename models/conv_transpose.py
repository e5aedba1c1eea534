"""ConvTransposeNet: strided convs down, transposed convs up (the homework's second net)."""

from torch import nn

from models._kernel import conv_padding, transposed_padding
from models.formulas import SYMBOLS


def down_block(c_in: int, c_out: int, kernel: int, net: str) -> nn.Sequential:
    """[Conv stride 2, BN, ReLU]: n -> n/2 at any kernel."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel_size=kernel, stride=2, padding=conv_padding(kernel, 2, net)),
        nn.BatchNorm2d(c_out),
        nn.ReLU(),
    )


def up_block(c_in: int, c_out: int, kernel: int, net: str) -> nn.Sequential:
    """[ConvTranspose stride 2, BN, ReLU]: n -> 2n at any kernel."""
    # (in-1)*2 - 2p + (k-1) + output_padding + 1 = 2*in: k=3 -> (1, 1), k=4 -> (1, 0).
    pad, out_pad = transposed_padding(kernel, 2, net)
    return nn.Sequential(
        nn.ConvTranspose2d(
            c_in, c_out, kernel_size=kernel, stride=2, padding=pad, output_padding=out_pad
        ),
        nn.BatchNorm2d(c_out),
        nn.ReLU(),
    )


class ConvTransposeNet(nn.Module):
    """[Conv s2, BN, ReLU] x2 down (32->16->8), [ConvT s2, BN, ReLU] x2 up (8->16->32), Conv."""

    def __init__(self, kernel=3, num_filters=32, num_colours=24, num_in_channels=1):
        super().__init__()
        net = "ConvTransposeNet"
        last_pad = conv_padding(kernel, 1, net)  # 'same' for even k: no symmetric pad exists
        nf, nc = num_filters, num_colours
        self.layer1 = down_block(num_in_channels, nf, kernel, net)
        self.layer2 = down_block(nf, 2 * nf, kernel, net)
        self.layer3 = up_block(2 * nf, nf, kernel, net)
        self.layer4 = up_block(nf, nc, kernel, net)
        self.layer5 = nn.Conv2d(nc, nc, kernel_size=kernel, padding=last_pad)

    formula_symbols = SYMBOLS  # what NIC, NF, NC, k and S in the formulas stand for

    @classmethod
    def formulas(cls, convention="units"):
        """Declared closed forms (archcount.Formula) in NIC, NF, NC, k, S."""
        from models.formulas import declared

        return declared("ConvTransposeNet", convention)

    def forward(self, x):
        for layer in (self.layer1, self.layer2, self.layer3, self.layer4, self.layer5):
            x = layer(x)
        return x
