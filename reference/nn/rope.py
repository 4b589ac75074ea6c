"""Rotary position embeddings (RoPE, Su et al., 2021), in 1D over frames and in 3D over (f, h, w).

RoPE rotates each pair of query/key channels by an angle proportional to the token's position,
so the score q_i . k_j depends on positions only through i - j (Su et al., eq. 16). The 3D form
(used by CogVideoX and Wan, chapter 8) splits the head's channels into three groups and rotates
each by one coordinate. Chapters 3 and 8.
"""

from __future__ import annotations

import torch
from einops import rearrange

from .patch import token_coordinates


def rope_angles(positions: torch.Tensor, dim: int, base: float = 10_000.0) -> torch.Tensor:
    """Angles `(n, dim/2)` for integer or real positions `(n,)`: position * base^(-2k/dim)."""
    if dim % 2:
        raise ValueError(f"RoPE needs an even number of channels, got {dim}")
    freqs = base ** (-torch.arange(0, dim, 2, dtype=torch.float32) / dim)  # (dim/2,)
    return positions.float()[:, None] * freqs[None]


def apply_rope(x: torch.Tensor, angles: torch.Tensor) -> torch.Tensor:
    """Rotate channel pairs (2k, 2k+1) of `x (..., n, d)` by `angles (n, d/2)`, or by angles with
    leading dimensions that broadcast against x's (one set of positions per batch row)."""
    if x.shape[-1] != 2 * angles.shape[-1] or x.shape[-2] != angles.shape[-2]:
        raise ValueError(f"x {tuple(x.shape)} does not match angles {tuple(angles.shape)} (need n and d/2)")
    pairs = rearrange(x.float(), "... n (k two) -> ... n k two", two=2)
    cos, sin = angles.cos(), angles.sin()
    even, odd = pairs[..., 0], pairs[..., 1]
    rotated = torch.stack([even * cos - odd * sin, even * sin + odd * cos], dim=-1)
    return rearrange(rotated, "... n k two -> ... n (k two)").to(x.dtype)


def rope_3d_angles(f: int, h: int, w: int, dim: int, split: tuple[int, int, int] | None = None) -> torch.Tensor:
    """Angles `(f*h*w, dim/2)` for tokens in (f h w) order; channels split between f, h and w.

    `split` gives the channels per axis (each even, summing to `dim`); by default time gets a
    quarter, as CogVideoX does (16 of 64), and height and width share the rest.
    """
    if split is None:
        time = 2 * (dim // 8)
        space = (dim - time) // 2 // 2 * 2
        split = (time, space, dim - time - space)
    if sum(split) != dim or any(s % 2 for s in split):
        raise ValueError(f"split {split} must be even parts summing to {dim}")
    coords = token_coordinates(f, h, w)  # (n, 3) as (frame, row, column)
    return torch.cat([rope_angles(coords[:, i], split[i]) for i in range(3)], dim=-1)
