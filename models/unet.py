"""UNet: ConvTransposeNet with the homework's skips (torch.cat before layer4 and layer5)."""

import torch
from torch import nn

from models._kernel import conv_padding
from models.conv_transpose import down_block, up_block
from models.formulas import SYMBOLS


class UNet(nn.Module):
    """ConvTransposeNet whose layer3 output is joined with layer1's, and layer4's with the input."""

    formula_symbols = SYMBOLS  # derive and check read NIC, NF, NC, k, S as for the others

    def __init__(self, kernel=3, num_filters=32, num_colours=24, num_in_channels=1):
        super().__init__()
        last_pad = conv_padding(kernel, 1, "UNet")
        nf, nc, nic = num_filters, num_colours, num_in_channels
        self.layer1 = down_block(nic, nf, kernel, "UNet")
        self.layer2 = down_block(nf, 2 * nf, kernel, "UNet")
        self.layer3 = up_block(2 * nf, nf, kernel, "UNet")
        self.layer4 = up_block(nf + nf, nc, kernel, "UNet")  # takes cat(layer3 out, layer1 out)
        self.layer5 = nn.Conv2d(nc + nic, nc, kernel_size=kernel, padding=last_pad)  # cat(out4, x)

    def forward(self, x):
        out1 = self.layer1(x)
        out2 = self.layer2(out1)
        out3 = self.layer3(out2)
        # The skips are functional torch.cat calls: forward hooks cannot see them.
        out4 = self.layer4(torch.cat((out3, out1), dim=1))
        return self.layer5(torch.cat((out4, x), dim=1))
