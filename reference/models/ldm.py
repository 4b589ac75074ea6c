"""Latent diffusion denoisers: chapter 0's image UNet and VDM's space-time UNet on VAE latents (chapter 5).

Latent diffusion (Rombach et al., 2022) trains the diffusion model on the latents of a frozen
autoencoder instead of on pixels. Video LDM (Blattmann et al., 2023) and MagicVideo (Zhou et al.,
2022) turn such an image model into a video model the way VDM does in pixel space: temporal layers
inserted after the spatial layers, starting as the identity. `LatentUNet2D` and `LatentVDMUNet` are
`reference.models.UNet2D` and `VDMUNet` with one addition, the scale that brings the VAE's latents to
unit variance (the "scale factor" of latent diffusion), kept as a buffer so it travels with the
checkpoint and passes from the image model to the video model with the other weights.
"""

from __future__ import annotations

import torch
from torch import nn

from .unet2d import UNet2D, UNet2DConfig
from .vdm import VDMUNet, VDMUNetConfig


class LatentScale(nn.Module):
    """Mixin: a `latent_scale` buffer; multiply VAE latents by it before diffusion, divide samples by it."""

    latent_scale: torch.Tensor

    def _register_scale(self) -> None:
        self.register_buffer("latent_scale", torch.ones(()))

    @torch.no_grad()
    def fit_latent_scale(self, latents: torch.Tensor) -> float:
        """Set the scale to 1 / std of a batch of latents (as latent diffusion does); returns it."""
        std = latents.float().std().item()
        if not std > 0:
            raise ValueError(f"latents have standard deviation {std}: cannot scale them to unit variance")
        self.latent_scale.fill_(1.0 / std)
        return 1.0 / std


class LatentUNet2D(UNet2D, LatentScale):
    """The image UNet on frame latents `(b, z, h, w)` (or one-frame videos)."""

    def __init__(self, config: UNet2DConfig = UNet2DConfig(in_channels=4)) -> None:
        super().__init__(config)
        self._register_scale()


class LatentVDMUNet(VDMUNet, LatentScale):
    """VDM's space-time UNet on video latents `(b, z, f, h, w)`; `load_image_weights` takes a
    `LatentUNet2D`, scale included."""

    def __init__(self, config: VDMUNetConfig = VDMUNetConfig(in_channels=4)) -> None:
        super().__init__(config)
        self._register_scale()
