"""One file per system of the report."""

from .unet2d import UNet2D, UNet2DConfig
from .vdm import VDMUNet, VDMUNetConfig

__all__ = ["UNet2D", "UNet2DConfig", "VDMUNet", "VDMUNetConfig"]
