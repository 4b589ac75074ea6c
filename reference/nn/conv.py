"""Convolutions for video: full 3D, factorised (2+1)D, and a temporal convolution that starts as identity.

- Full 3D convolution (C3D, Tran et al., 2015): one k_t x k x k kernel over time and space.
- (2+1)D convolution (R(2+1)D, Tran et al., 2018, sec. 3.5): a 1 x k x k spatial convolution to
  M channels, a nonlinearity, then a k_t x 1 x 1 temporal convolution. M is chosen so that the
  parameter count equals the 3D kernel's:  M = floor(k_t k^2 N_in N_out / (k^2 N_in + k_t N_out)).
- Inflation (used by Make-A-Video and VDM-style models): a spatial layer reuses a 2D image
  convolution frame by frame, and a residual temporal convolution initialised at zero is added
  after it, so the inflated video model equals the image model until it is trained.

Every module takes videos `(b, c, f, h, w)` and images `(b, c, h, w)`. An image is one frame with
time switched off: spatial layers act as in the image model, temporal layers pass it through.
Chapter 2.
"""

from __future__ import annotations

import torch
from einops import rearrange
from torch import nn


def r2plus1d_width(in_channels: int, out_channels: int, kernel: int, kernel_t: int) -> int:
    """R(2+1)D's intermediate width M_i: the (2+1)D block then has the 3D kernel's parameter count."""
    return (kernel_t * kernel**2 * in_channels * out_channels) // (kernel**2 * in_channels + kernel_t * out_channels)


class SpatialConv(nn.Conv2d):
    """A 2D convolution applied to every frame; its weights load from an image model unchanged."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        if x.dim() == 4:
            return super().forward(x)
        if x.dim() != 5:
            raise ValueError(f"expected (b, c, h, w) or (b, c, f, h, w), got {tuple(x.shape)}")
        f = x.shape[2]
        frames = super().forward(rearrange(x, "b c f h w -> (b f) c h w"))  # frames become batch
        return rearrange(frames, "(b f) c h w -> b c f h w", f=f)


class TemporalConv(nn.Conv1d):
    """A 1D convolution along frames at every pixel, `same` padding; images pass through unchanged."""

    def __init__(self, in_channels: int, out_channels: int, kernel_t: int = 3, bias: bool = True) -> None:
        if kernel_t % 2 == 0:
            raise ValueError(f"kernel_t must be odd for same-length output, got {kernel_t}")
        super().__init__(in_channels, out_channels, kernel_t, padding=kernel_t // 2, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        if x.dim() == 4:  # an image: no time axis to mix
            if self.in_channels != self.out_channels:
                raise ValueError("a temporal conv that changes width cannot pass an image through")
            return x
        if x.dim() != 5:
            raise ValueError(f"expected (b, c, h, w) or (b, c, f, h, w), got {tuple(x.shape)}")
        b, _, _, h, w = x.shape
        pixels = super().forward(rearrange(x, "b c f h w -> (b h w) c f"))  # pixels become batch
        return rearrange(pixels, "(b h w) c f -> b c f h w", b=b, h=h, w=w)


class Conv3d(nn.Conv3d):
    """Full 3D convolution with `same` padding; an image is treated as a one-frame video."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int = 3, kernel_t: int = 3, bias: bool = True):
        super().__init__(in_channels, out_channels, (kernel_t, kernel, kernel),
                         padding=(kernel_t // 2, kernel // 2, kernel // 2), bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        if x.dim() == 4:
            return rearrange(super().forward(rearrange(x, "b c h w -> b c 1 h w")), "b c 1 h w -> b c h w")
        return super().forward(x)


class Conv2Plus1d(nn.Module):
    """(2+1)D convolution: spatial k x k to M channels, a nonlinearity, temporal k_t to `out_channels`."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int = 3, kernel_t: int = 3,
                 bias: bool = True, width: int | None = None) -> None:
        super().__init__()
        self.width = width or r2plus1d_width(in_channels, out_channels, kernel, kernel_t)
        self.spatial = SpatialConv(in_channels, self.width, kernel, padding=kernel // 2, bias=bias)
        self.activation = nn.SiLU()  # the extra nonlinearity that 3D kernels do not have
        self.temporal = nn.Conv3d(self.width, out_channels, (kernel_t, 1, 1), padding=(kernel_t // 2, 0, 0), bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        image = x.dim() == 4
        if image:  # one frame: the temporal kernel sees zero padding around it
            x = rearrange(x, "b c h w -> b c 1 h w")
        out = self.temporal(self.activation(self.spatial(x)))
        return rearrange(out, "b c 1 h w -> b c h w") if image else out


class InflatedConv(nn.Module):
    """An image model's conv made video-ready: the 2D conv per frame, then a residual temporal conv
    initialised at zero, so the block equals the 2D conv exactly until training moves it."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int = 3, kernel_t: int = 3) -> None:
        super().__init__()
        self.spatial = SpatialConv(in_channels, out_channels, kernel, padding=kernel // 2)
        self.temporal = TemporalConv(out_channels, out_channels, kernel_t)
        self.initialize_weights()

    def initialize_weights(self) -> None:
        # Zero temporal kernel and bias: temporal(x) = 0, so the residual block starts as the identity.
        nn.init.zeros_(self.temporal.weight)
        nn.init.zeros_(self.temporal.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.spatial(x)
        return h + self.temporal(h) if h.dim() == 5 else h
