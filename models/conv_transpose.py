"""ConvTransposeNet: strided convs down, transposed convs up (the homework's second net)."""

from torch import nn

from models._kernel import conv_padding, transposed_padding


class ConvTransposeNet(nn.Module):
    """[Conv s2, BN, ReLU] x2 down (32->16->8), [ConvT s2, BN, ReLU] x2 up (8->16->32), Conv."""

    def __init__(self, kernel=3, num_filters=32, num_colours=24, num_in_channels=1):
        super().__init__()
        net = "ConvTransposeNet"
        down_pad = conv_padding(kernel, 2, net)
        up_pad, up_out_pad = transposed_padding(kernel, 2, net)
        last_pad = conv_padding(kernel, 1, net)  # 'same' for even k: no symmetric pad exists
        nf, nc = num_filters, num_colours

        def down(c_in, c_out):
            return nn.Sequential(
                nn.Conv2d(c_in, c_out, kernel_size=kernel, stride=2, padding=down_pad),
                nn.BatchNorm2d(c_out),
                nn.ReLU(),
            )

        def up(c_in, c_out):
            # (in-1)*2 - 2p + (k-1) + output_padding + 1 = 2*in: k=3 -> (1, 1), k=4 -> (1, 0).
            return nn.Sequential(
                nn.ConvTranspose2d(
                    c_in,
                    c_out,
                    kernel_size=kernel,
                    stride=2,
                    padding=up_pad,
                    output_padding=up_out_pad,
                ),
                nn.BatchNorm2d(c_out),
                nn.ReLU(),
            )

        self.layer1 = down(num_in_channels, nf)
        self.layer2 = down(nf, 2 * nf)
        self.layer3 = up(2 * nf, nf)
        self.layer4 = up(nf, nc)
        self.layer5 = nn.Conv2d(nc, nc, kernel_size=kernel, padding=last_pad)

    @classmethod
    def formulas(cls, convention="units"):
        """Declared closed forms (archcount.formulas.Formula) in NIC, NF, NC, k, S."""
        from models.formulas import declared  # sympy only when asked

        return declared("ConvTransposeNet", convention)

    def forward(self, x):
        for layer in (self.layer1, self.layer2, self.layer3, self.layer4, self.layer5):
            x = layer(x)
        return x
