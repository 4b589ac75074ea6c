"""Wan, small: a flow-matching DiT with full 3D self-attention and cross-attention to the caption (chapter 8).

Wan Team (2025), "Wan: Open and Advanced Large-Scale Video Generative Models", sec. 3, and its
code (Wan-Video/Wan2.1 `wan/modules/model.py`; diffusers' `WanTransformer3DModel`, whose block
this one matches weight for weight, tested). Each block:

    x = x + g1 * SelfAttn(LN(x) * (1 + s1) + b1)        full 3D attention, qk-RMSNorm, 3D RoPE
    x = x + CrossAttn(LN'(x), caption tokens)            no modulation, no gate
    x = x + g2 * FFN(LN(x) * (1 + s2) + b2)

The six vectors (b1, s1, g1, b2, s2, g2) come from *one* time MLP shared by all blocks, plus each
block's own learned bias (`modulation`, a (1, 6, d) parameter): cheaper than DiT's per-block
regressor. The query and key RMS norms run over the whole width, across heads. Time is handled by
the attention itself: every token attends to every token of every frame, and 3D RoPE gives the
head's channels to (time, height, width) as d - 4 floor(d/6), 2 floor(d/6), 2 floor(d/6) (the
report calls Wan's temporal design "not specified"; the code specifies it).

The objective, rectified flow, lives in `reference.diffusion.flow` and the recipe.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from einops import rearrange
from torch import nn

from ..data.vocab import WORDS
from ..nn.attention import attention
from ..nn.embeddings import sinusoidal_embedding
from ..nn.latent import LatentStatistics
from ..nn.patch import PatchEmbed, PatchUnembed
from ..nn.rope import apply_rope, rope_3d_angles
from ..nn.text import CaptionTokenEncoder


@dataclass(frozen=True)
class WanConfig:
    in_channels: int = 4
    dim: int = 128
    depth: int = 4
    heads: int = 4
    ffn_ratio: float = 4.0  # Wan 1.3B: 8960 / 1536
    patch: int = 1  # Wan: (1, 2, 2) on 16-channel latents; the toy's 8 x 8 latents keep every position
    frequency_dim: int = 64  # sinusoid width of the timestep (Wan: 256)
    text_depth: int = 1
    vocab_size: int = len(WORDS)
    max_words: int = 16

    @classmethod
    def tiny(cls, **changes) -> "WanConfig":
        return cls(**{"in_channels": 2, "dim": 24, "depth": 2, "heads": 2, "frequency_dim": 8, **changes})

    @property
    def head_dim(self) -> int:
        return self.dim // self.heads

    def rope_split(self) -> tuple[int, int, int]:
        """Channels per head for (time, height, width): d - 4 floor(d/6), 2 floor(d/6), 2 floor(d/6)."""
        d = self.head_dim
        return d - 4 * (d // 6), 2 * (d // 6), 2 * (d // 6)

    def to_dict(self) -> dict:
        return asdict(self)


class WanAttention(nn.Module):
    """Multi-head attention with RMS-normalised queries and keys (over the whole width); self-attention
    when `context` is None (then RoPE applies), cross-attention to `context` otherwise."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.to_q, self.to_k, self.to_v, self.to_out = (nn.Linear(dim, dim) for _ in range(4))
        self.norm_q = nn.RMSNorm(dim, eps=1e-6)
        self.norm_k = nn.RMSNorm(dim, eps=1e-6)

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None, angles: torch.Tensor | None = None) -> torch.Tensor:
        source = x if context is None else context
        q = rearrange(self.norm_q(self.to_q(x)), "b n (heads d) -> b heads n d", heads=self.heads)
        k = rearrange(self.norm_k(self.to_k(source)), "b n (heads d) -> b heads n d", heads=self.heads)
        v = rearrange(self.to_v(source), "b n (heads d) -> b heads n d", heads=self.heads)
        if angles is not None:
            q, k = apply_rope(q, angles), apply_rope(k, angles)
        return self.to_out(rearrange(attention(q, k, v), "b heads n d -> b n (heads d)"))


class WanBlock(nn.Module):
    """Self-attention and FFN modulated by the shared time vectors plus this block's bias; cross-attention plain."""

    def __init__(self, dim: int, heads: int, ffn_dim: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.self_attn = WanAttention(dim, heads)
        self.norm_cross = nn.LayerNorm(dim, eps=1e-6)  # Wan 2.1 t2v: cross_attn_norm = True
        self.cross_attn = WanAttention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.ffn = nn.Sequential(nn.Linear(dim, ffn_dim), nn.GELU(approximate="tanh"), nn.Linear(ffn_dim, dim))
        self.modulation = nn.Parameter(torch.randn(1, 6, dim) / dim**0.5)

    def forward(self, x: torch.Tensor, e: torch.Tensor, context: torch.Tensor, angles: torch.Tensor | None) -> torch.Tensor:
        """x `(b, n, d)`; e `(b, 6, d)` from the shared time MLP; context `(b, m, d)`; angles `(n, d_head/2)`."""
        shift1, scale1, gate1, shift2, scale2, gate2 = (self.modulation + e).chunk(6, dim=1)  # each (b, 1, d)
        x = x + gate1 * self.self_attn(self.norm1(x) * (1 + scale1) + shift1, angles=angles)
        x = x + self.cross_attn(self.norm_cross(x), context)
        return x + gate2 * self.ffn(self.norm2(x) * (1 + scale2) + shift2)


class Wan(LatentStatistics):
    """Latents `(b, c, f, h, w)`, flow times `(b,)` scaled to [0, 1000], caption ids `(b, m)` -> velocity."""

    def __init__(self, config: WanConfig = WanConfig()) -> None:
        super().__init__()
        if config.dim % config.heads or config.head_dim % 2 or config.head_dim < 6:
            raise ValueError(f"width {config.dim} must split into {config.heads} heads of even width >= 6")
        self.config = config
        d = config.dim
        self.patch_embed = PatchEmbed(config.in_channels, d, config.patch)
        self.caption_encoder = CaptionTokenEncoder(config.vocab_size, d, config.max_words, config.text_depth)
        self.text_embedding = nn.Sequential(nn.Linear(d, d), nn.GELU(approximate="tanh"), nn.Linear(d, d))
        self.time_embedding = nn.Sequential(nn.Linear(config.frequency_dim, d), nn.SiLU(), nn.Linear(d, d))
        self.time_projection = nn.Sequential(nn.SiLU(), nn.Linear(d, 6 * d))  # shared by every block
        self.blocks = nn.ModuleList(WanBlock(d, config.heads, int(d * config.ffn_ratio)) for _ in range(config.depth))
        self.head_norm = nn.LayerNorm(d, elementwise_affine=False, eps=1e-6)
        self.head_modulation = nn.Parameter(torch.randn(1, 2, d) / d**0.5)
        self.unembed = PatchUnembed(d, config.in_channels, config.patch)
        self.initialize_weights()
        self.register_latent_statistics(config.in_channels)

    def initialize_weights(self) -> None:
        """Wan's: Xavier-uniform linear layers, the output layer at zero."""
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)
        nn.init.zeros_(self.unembed.proj.weight)

    def forward(self, x: torch.Tensor, t: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        if x.dim() != 5 or x.shape[1] != self.config.in_channels:
            raise ValueError(f"expected latents (b, {self.config.in_channels}, f, h, w), got {tuple(x.shape)}")
        if t.dim() != 1:
            raise ValueError(f"Wan takes one time per clip, (b,); got {tuple(t.shape)}")
        c = self.config
        h, grid = self.patch_embed(x)  # (b, f*h*w, d)
        context = self.text_embedding(self.caption_encoder(tokens))  # (b, m, d)
        time = self.time_embedding(sinusoidal_embedding(t, c.frequency_dim))  # (b, d)
        e = rearrange(self.time_projection(time), "b (six d) -> b six d", six=6)
        angles = rope_3d_angles(grid.f, grid.h, grid.w, c.head_dim, c.rope_split()).to(x.device)
        for block in self.blocks:
            h = block(h, e, context, angles)
        shift, scale = (self.head_modulation + time[:, None]).chunk(2, dim=1)
        return self.unembed(self.head_norm(h) * (1 + scale) + shift, grid)
