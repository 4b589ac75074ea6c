"""Sinusoidal embeddings of a scalar (diffusion time, or a position) and the timestep MLP.

The sinusoid is the Transformer's (Vaswani et al., 2017, sec. 3.5) applied to t, as in DDPM's
UNet: half the channels are sin(t * w_k), half cos(t * w_k), with w_k spaced geometrically from
1 down to 1/max_period. Chapter 0.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def sinusoidal_embedding(positions: torch.Tensor, dim: int, max_period: float = 10_000.0) -> torch.Tensor:
    """`(b,)` scalars -> `(b, dim)` features: [cos(p w_0), ..., cos(p w_{k-1}), sin(p w_0), ...]."""
    if dim % 2:
        raise ValueError(f"embedding dim must be even, got {dim}")
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=positions.device) / half)
    angles = positions.float()[:, None] * freqs[None]  # (b, half)
    return torch.cat([angles.cos(), angles.sin()], dim=-1)


class TimestepEmbedding(nn.Module):
    """Diffusion time t -> a width-`dim` vector that every residual block reads."""

    def __init__(self, dim: int, frequency_dim: int = 64) -> None:
        super().__init__()
        self.frequency_dim = frequency_dim
        self.mlp = nn.Sequential(nn.Linear(frequency_dim, dim), nn.SiLU(), nn.Linear(dim, dim))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        return self.mlp(sinusoidal_embedding(t, self.frequency_dim))
