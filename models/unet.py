"""UNet: ConvTransposeNet with the homework's skip connections (torch.cat before layer4 and layer5)."""

import torch
from torch import nn

from models._kernel import conv_padding, transposed_padding


class UNet(nn.Module):
    """ConvTransposeNet whose layer3 output is joined with layer1's, and layer4's with the input."""

    def __init__(self, kernel=3, num_filters=32, num_colours=24, num_in_channels=1):
        super().__init__()
        down_pad = conv_padding(kernel, 2, "UNet")
        up_pad, up_out_pad = transposed_padding(kernel, 2, "UNet")
        last_pad = conv_padding(kernel, 1, "UNet")
        nf, nc, nic = num_filters, num_colours, num_in_channels

        def down(c_in, c_out):
            return nn.Sequential(
                nn.Conv2d(c_in, c_out, kernel_size=kernel, stride=2, padding=down_pad),
                nn.BatchNorm2d(c_out),
                nn.ReLU(),
            )

        def up(c_in, c_out):
            # the same doubling pads as ConvTransposeNet's
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

        self.layer1 = down(nic, nf)
        self.layer2 = down(nf, 2 * nf)
        self.layer3 = up(2 * nf, nf)
        self.layer4 = up(nf + nf, nc)  # takes cat(layer3 out, layer1 out)
        self.layer5 = nn.Conv2d(
            nc + nic, nc, kernel_size=kernel, padding=last_pad
        )  # cat(layer4, x)

    def forward(self, x):
        out1 = self.layer1(x)
        out2 = self.layer2(out1)
        out3 = self.layer3(out2)
        # The skips are functional torch.cat calls: forward hooks cannot see them.
        out4 = self.layer4(torch.cat((out3, out1), dim=1))
        return self.layer5(torch.cat((out4, x), dim=1))
