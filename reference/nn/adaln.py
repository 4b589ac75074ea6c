"""The adaLN-Zero transformer block of DiT (Peebles & Xie, 2023, sec. 3.2), attending along one fold.

The conditioning vector c (timestep plus caption or class) regresses, per block, a shift, a scale
and a gate for the attention branch and for the MLP branch:

    x = x + gate_a * Attn(LN(x) * (1 + scale_a) + shift_a)
    x = x + gate_m * MLP(LN(x) * (1 + scale_m) + shift_m)

The regression layer starts at zero, so every gate is 0 and a fresh block is the identity (tested).
The attention runs along one `Axis` of `reference.nn.attention`, so a spatial block, a temporal
block and a joint block are the same class (Latte's variants, chapter 3). Chapters 3 and 8.
"""

from __future__ import annotations

import torch
from einops import rearrange
from torch import nn

from .attention import Axis, FoldedSelfAttention


class AdaLNZeroBlock(nn.Module):
    def __init__(self, dim: int, heads: int, axis: Axis, cond_dim: int, mlp_ratio: float = 4.0) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.attention = FoldedSelfAttention(dim, heads, axis)
        self.norm2 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(approximate="tanh"), nn.Linear(hidden, dim))
        self.modulation = nn.Sequential(nn.SiLU(), nn.Linear(cond_dim, 6 * dim))
        self.initialize_weights()

    def initialize_weights(self) -> None:
        # adaLN-Zero: the modulation regressor starts at zero, so both gates are 0 and the block is
        # the identity; DiT found this trains best of the conditioning schemes it compared.
        nn.init.zeros_(self.modulation[-1].weight)
        nn.init.zeros_(self.modulation[-1].bias)

    def forward(self, x: torch.Tensor, cond: torch.Tensor, f: int, h: int, w: int) -> torch.Tensor:
        """x: tokens `(b, f*h*w, d)` in (f h w) order; cond: `(b, cond_dim)`."""
        shift_a, scale_a, gate_a, shift_m, scale_m, gate_m = rearrange(
            self.modulation(cond), "b (six d) -> six b 1 d", six=6
        )
        x = x + gate_a * self.attention(self.norm1(x) * (1 + scale_a) + shift_a, f, h, w)
        return x + gate_m * self.mlp(self.norm2(x) * (1 + scale_m) + shift_m)
