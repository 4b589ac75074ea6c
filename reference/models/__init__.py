"""One file per system of the report."""

from .unet2d import UNet2D, UNet2DConfig

__all__ = ["UNet2D", "UNet2DConfig"]
