"""ConvTransposeNet: strided convs down, transposed convs up (the homework's second net)."""

from torch import nn

from models._kernel import odd_kernel_padding


class ConvTransposeNet(nn.Module):
    """[Conv s2, BN, ReLU] x2 down (32->16->8), [ConvT s2, BN, ReLU] x2 up (8->16->32), Conv."""

    def __init__(self, kernel=3, num_filters=32, num_colours=24, num_in_channels=1):
        super().__init__()
        pad = odd_kernel_padding(kernel, "ConvTransposeNet")
        nf, nc = num_filters, num_colours

        def down(c_in, c_out):
            return nn.Sequential(
                nn.Conv2d(c_in, c_out, kernel_size=kernel, stride=2, padding=pad),
                nn.BatchNorm2d(c_out),
                nn.ReLU(),
            )

        def up(c_in, c_out):
            # For odd k, (in-1)*2 - 2*(k//2) + (k-1) + 1 + 1 = 2*in: output_padding 1 doubles.
            return nn.Sequential(
                nn.ConvTranspose2d(
                    c_in, c_out, kernel_size=kernel, stride=2, padding=pad, output_padding=1
                ),
                nn.BatchNorm2d(c_out),
                nn.ReLU(),
            )

        self.layer1 = down(num_in_channels, nf)
        self.layer2 = down(nf, 2 * nf)
        self.layer3 = up(2 * nf, nf)
        self.layer4 = up(nf, nc)
        self.layer5 = nn.Conv2d(nc, nc, kernel_size=kernel, padding=pad)

    def forward(self, x):
        for layer in (self.layer1, self.layer2, self.layer3, self.layer4, self.layer5):
            x = layer(x)
        return x
