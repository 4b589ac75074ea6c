"""Patch embeddings that turn a video into tokens, and their exact inverse.

Latte (Ma et al., 2024, sec. 3.2) compares two ways to cut a video `(b, c, f, h, w)` into tokens:

- uniform frame patch embedding (as ViT, Dosovitskiy et al., 2021): every frame is cut into
  p x p patches on its own, giving n = f (h/p) (w/p) tokens;
- compression ("tubelet") embedding (as ViViT, Arnab et al., 2021): p_f x p x p blocks that span
  p_f frames, giving n = (f/p_f) (h/p) (w/p) tokens, p_f times fewer.

Both are one linear map per patch, which is the same as a strided convolution whose kernel equals
its stride (tested). `patchify` / `unpatchify` are the pure rearrangements, lossless by
construction. Chapter 3.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from einops import rearrange
from torch import nn


class Grid(NamedTuple):
    """How many patches along frames, rows and columns."""

    f: int
    h: int
    w: int

    @property
    def tokens(self) -> int:
        return self.f * self.h * self.w


def token_coordinates(f: int, h: int, w: int) -> torch.Tensor:
    """(frame, row, column) of every token in (f h w) order, `(f*h*w, 3)` integers."""
    grid = torch.meshgrid(torch.arange(f), torch.arange(h), torch.arange(w), indexing="ij")
    return rearrange(torch.stack(grid), "three f h w -> (f h w) three")


def patch_grid(frames: int, height: int, width: int, patch: int, patch_t: int = 1) -> Grid:
    """The token grid of a video, with a clear error when a side is not a multiple of its patch."""
    for name, size, p in (("frames", frames, patch_t), ("height", height, patch), ("width", width, patch)):
        if size % p:
            raise ValueError(f"{name} {size} is not a multiple of the patch size {p} along it")
    return Grid(frames // patch_t, height // patch, width // patch)


def patchify(x: torch.Tensor, patch: int, patch_t: int = 1) -> torch.Tensor:
    """Video `(b, c, f, h, w)` -> patches `(b, n, p_f*p*p*c)`, tokens in (f h w) order."""
    patch_grid(*x.shape[2:], patch=patch, patch_t=patch_t)
    return rearrange(x, "b c (f pf) (h ph) (w pw) -> b (f h w) (pf ph pw c)", pf=patch_t, ph=patch, pw=patch)


def unpatchify(tokens: torch.Tensor, grid: Grid, patch: int, patch_t: int = 1) -> torch.Tensor:
    """The exact inverse of `patchify`: `(b, n, p_f*p*p*c)` -> `(b, c, f, h, w)`."""
    if tokens.shape[1] != grid.tokens:
        raise ValueError(f"got {tokens.shape[1]} tokens for a {grid.f}x{grid.h}x{grid.w} grid ({grid.tokens})")
    return rearrange(tokens, "b (f h w) (pf ph pw c) -> b c (f pf) (h ph) (w pw)",
                     f=grid.f, h=grid.h, w=grid.w, pf=patch_t, ph=patch, pw=patch)


class PatchEmbed(nn.Module):
    """Linear embedding of p_f x p x p patches to width `dim` (p_f = 1: uniform; p_f > 1: tubelet)."""

    def __init__(self, in_channels: int, dim: int, patch: int, patch_t: int = 1) -> None:
        super().__init__()
        self.patch, self.patch_t = patch, patch_t
        self.proj = nn.Linear(patch_t * patch * patch * in_channels, dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, Grid]:
        """Video `(b, c, f, h, w)` -> tokens `(b, n, d)` and their grid."""
        grid = patch_grid(*x.shape[2:], patch=self.patch, patch_t=self.patch_t)
        return self.proj(patchify(x, self.patch, self.patch_t)), grid


class PatchUnembed(nn.Module):
    """The output head: tokens `(b, n, d)` -> a video `(b, c, f, h, w)` through one linear map per token."""

    def __init__(self, dim: int, out_channels: int, patch: int, patch_t: int = 1) -> None:
        super().__init__()
        self.patch, self.patch_t = patch, patch_t
        self.proj = nn.Linear(dim, patch_t * patch * patch * out_channels)

    def forward(self, tokens: torch.Tensor, grid: Grid) -> torch.Tensor:
        return unpatchify(self.proj(tokens), grid, self.patch, self.patch_t)
