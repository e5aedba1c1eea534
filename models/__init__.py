"""The colorization homework's reference nets."""

from models.conv_transpose import ConvTransposeNet
from models.pool_upsample import PoolUpsampleNet

__all__ = ["PoolUpsampleNet", "ConvTransposeNet"]
