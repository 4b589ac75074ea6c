"""Per-channel statistics of a latent space, kept inside the denoiser that learns in it.

A VAE's latents are not N(0, I): each channel has its own mean and spread. Latent diffusion
(Rombach et al., 2022, sec. 4.3.2) rescales them to unit variance before noising, since the
noise schedule assumes data of that size. The denoisers of chapters 6 and 8 measure the mean and
std of each channel on training clips, keep them as buffers (saved with the weights), learn
(z - mean) / std and map samples back before decoding. Chapters 6 and 8.
"""

from __future__ import annotations

import torch
from torch import nn


class LatentStatistics(nn.Module):
    """A module whose inputs are latents with `channels` channels, normalised per channel."""

    def register_latent_statistics(self, channels: int) -> None:
        # Identity until fitted (a pixel model keeps it so).
        self.register_buffer("latent_mean", torch.zeros(channels))
        self.register_buffer("latent_std", torch.ones(channels))

    @torch.no_grad()
    def fit_latent_statistics(self, latents: torch.Tensor) -> dict[str, list[float]]:
        """Set the per-channel mean and std from latents `(b, c, f, h, w)`; returns them."""
        channels = self.latent_mean.numel()
        if latents.dim() != 5 or latents.shape[1] != channels:
            raise ValueError(f"expected latents (b, {channels}, f, h, w), got {tuple(latents.shape)}")
        self.latent_mean.copy_(latents.mean(dim=(0, 2, 3, 4)))
        self.latent_std.copy_(latents.std(dim=(0, 2, 3, 4)).clamp(min=1e-6))
        return {"latent_mean": self.latent_mean.tolist(), "latent_std": self.latent_std.tolist()}

    def normalise(self, z: torch.Tensor) -> torch.Tensor:
        return (z - self.latent_mean.view(1, -1, 1, 1, 1)) / self.latent_std.view(1, -1, 1, 1, 1)

    def denormalise(self, z: torch.Tensor) -> torch.Tensor:
        return z * self.latent_std.view(1, -1, 1, 1, 1) + self.latent_mean.view(1, -1, 1, 1, 1)
