"""Causal 3D convolution: no frame sees the future (CogVideoX's video VAE, chapter 5).

A causal convolution pads only in front along time: `k_t - 1` copies of the first frame, none
behind, so output frame i is computed from input frames i - k_t + 1 ... i. CogVideoX (Yang et al.,
2024, sec. 2.1) builds its 3D VAE from such layers. Two consequences the chapter measures:

- changing a frame never changes the outputs of earlier frames;
- the first frame's output depends on the first frame alone, so an image (a one-frame clip) is
  encoded exactly as the first frame of any video that starts with it, and one VAE serves both.

Padding in front with copies of the first frame, rather than zeros, keeps the first frame's
statistics like those of the others (a zero frame is an edge that never occurs in data); it is what
CogVideoX's released VAE does (its "constant" mode). Space is zero-padded symmetrically as usual.
"""

from __future__ import annotations

import torch
from torch import nn


class CausalConv3d(nn.Module):
    """`(b, c, f, h, w)` -> `(b, c_out, f', h, w)` with f' = ceil(f / stride_t); causal in time."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int = 3, kernel_t: int = 3,
                 stride_t: int = 1) -> None:
        super().__init__()
        if kernel % 2 == 0:
            raise ValueError(f"the spatial kernel must be odd for 'same' padding, got {kernel}")
        self.kernel_t = kernel_t
        self.conv = nn.Conv3d(in_channels, out_channels, (kernel_t, kernel, kernel), stride=(stride_t, 1, 1),
                              padding=(0, kernel // 2, kernel // 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 5:
            raise ValueError(f"expected videos (b, c, f, h, w), got shape {tuple(x.shape)}")
        front = x[:, :, :1].expand(-1, -1, self.kernel_t - 1, -1, -1)  # copies of the first frame
        return self.conv(torch.cat([front, x], dim=2))
