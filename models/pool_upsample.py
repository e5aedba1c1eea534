"""PoolUpsampleNet: conv + max-pool down, conv + nearest upsample up (the homework's first net)."""

from torch import nn

from models._kernel import conv_padding
from models.formulas import SYMBOLS


class PoolUpsampleNet(nn.Module):
    """[Conv, MaxPool, BN, ReLU] x2 down, [Conv, Upsample, BN, ReLU] x2 up, then Conv(NC->NC)."""

    def __init__(self, kernel=3, num_filters=32, num_colours=24, num_in_channels=1):
        super().__init__()
        pad = conv_padding(kernel, 1, "PoolUpsampleNet")  # 'same' for even k
        nf, nc = num_filters, num_colours

        def block(c_in, c_out, resample):
            return nn.Sequential(
                nn.Conv2d(c_in, c_out, kernel_size=kernel, padding=pad),
                resample,
                nn.BatchNorm2d(c_out),
                nn.ReLU(),
            )

        self.layer1 = block(num_in_channels, nf, nn.MaxPool2d(2))
        self.layer2 = block(nf, 2 * nf, nn.MaxPool2d(2))
        self.layer3 = block(2 * nf, nf, nn.Upsample(scale_factor=2))
        self.layer4 = block(nf, nc, nn.Upsample(scale_factor=2))
        self.layer5 = nn.Conv2d(nc, nc, kernel_size=kernel, padding=pad)

    formula_symbols = SYMBOLS  # what NIC, NF, NC, k and S in the formulas stand for

    @classmethod
    def formulas(cls, convention="units"):
        """Declared closed forms (archcount.Formula) in NIC, NF, NC, k, S."""
        from models.formulas import declared

        return declared("PoolUpsampleNet", convention)

    def forward(self, x):
        for layer in (self.layer1, self.layer2, self.layer3, self.layer4, self.layer5):
            x = layer(x)
        return x
