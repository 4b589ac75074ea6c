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
from einops import rearrange, repeat
from torch import nn

from .attention import Axis, FoldedSelfAttention, SplitHeadsSelfAttention


class AdaLNZeroBlock(nn.Module):
    """DiT's block along one or more folds.

    - `axis` one `Axis`: attention along it, then the MLP (DiT; Latte's spatial and temporal blocks).
    - `axis` several axes: one attention branch per axis in a row, each with its own norm, shift,
      scale and gate, then one MLP (Latte's variant 3: spatial then temporal attention in one block).
    - several axes and `split_heads=True`: one attention whose heads are shared out between the axes
      (Latte's variant 4).
    """

    def __init__(self, dim: int, heads: int, axis: Axis | tuple[Axis, ...], cond_dim: int, mlp_ratio: float = 4.0,
                 split_heads: bool = False) -> None:
        super().__init__()
        self.axes = (Axis(axis),) if isinstance(axis, (Axis, str)) else tuple(Axis(a) for a in axis)
        if split_heads:
            self.attentions = nn.ModuleList([SplitHeadsSelfAttention(dim, heads, self.axes)])
        else:
            self.attentions = nn.ModuleList(FoldedSelfAttention(dim, heads, a) for a in self.axes)
        self.norm = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)  # parameter-free, so one serves all
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(approximate="tanh"), nn.Linear(hidden, dim))
        self.branches = len(self.attentions) + 1  # attention branches and the MLP
        self.modulation = nn.Sequential(nn.SiLU(), nn.Linear(cond_dim, 3 * self.branches * dim))
        self.initialize_weights()

    def initialize_weights(self) -> None:
        # adaLN-Zero: the modulation regressor starts at zero, so every gate is 0 and the block is
        # the identity; DiT found this trains best of the conditioning schemes it compared.
        nn.init.zeros_(self.modulation[-1].weight)
        nn.init.zeros_(self.modulation[-1].bias)

    def forward(self, x: torch.Tensor, cond: torch.Tensor, f: int, h: int, w: int,
                rope: dict[Axis, torch.Tensor] | None = None) -> torch.Tensor:
        """x: tokens `(b, f*h*w, d)` in (f h w) order; cond: `(b, cond_dim)`, or `(b, f, cond_dim)`
        for one condition per frame (a noise level per frame, chapter 6); rope: rotary angles per
        axis, for the folded attentions that should use them."""
        shift, scale, gate = modulations(self.modulation(cond), self.branches, f, h, w)
        for i, (axis, attention) in enumerate(zip(self.axes, self.attentions)):
            modulated = self.norm(x) * (1 + scale[i]) + shift[i]
            if isinstance(attention, FoldedSelfAttention):
                update = attention(modulated, f, h, w, rope=(rope or {}).get(axis))
            else:  # split heads: one attention over all the block's axes
                update = attention(modulated, f, h, w, rope=rope)
            x = x + gate[i] * update
        return x + gate[-1] * self.mlp(self.norm(x) * (1 + scale[-1]) + shift[-1])


def modulations(regressed: torch.Tensor, branches: int, f: int, h: int, w: int, parts: int = 3) -> torch.Tensor:
    """The regressed `(b, branches*parts*d)` (one condition per clip) or `(b, f, branches*parts*d)`
    (one per frame) as `(parts, branches, b, 1 or f*h*w, d)`: shift, scale and gate (parts = 3), or
    shift and scale (parts = 2, a final layer), broadcasting over the tokens."""
    if regressed.dim() == 2:
        return rearrange(regressed, "b (branch part d) -> part branch b 1 d", part=parts, branch=branches)
    if regressed.dim() != 3 or regressed.shape[1] != f:
        raise ValueError(f"per-frame conditions must be (b, {f}, d'), got {tuple(regressed.shape)}")
    return repeat(regressed, "b f (branch part d) -> part branch b (f hw) d", part=parts, branch=branches, hw=h * w)
