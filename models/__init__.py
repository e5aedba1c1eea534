"""The colorization homework's reference nets."""

from models.conv_transpose import ConvTransposeNet
from models.pool_upsample import PoolUpsampleNet
from models.unet import UNet

__all__ = ["ConvTransposeNet", "PoolUpsampleNet", "UNet"]
