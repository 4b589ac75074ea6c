"""One file per system of the report."""

from .latte import Latte, LatteConfig
from .timesformer import VideoViT, VideoViTConfig
from .unet2d import UNet2D, UNet2DConfig
from .vdm import VDMUNet, VDMUNetConfig

__all__ = ["Latte", "LatteConfig", "UNet2D", "UNet2DConfig", "VDMUNet", "VDMUNetConfig", "VideoViT", "VideoViTConfig"]
