"""The text-to-video transformer of chapter 6's motion study and of `t2v-tiny`.

A DiT on video tokens built from the book's parts (Peebles & Xie, 2023; chapter 3's Latte): a
linear patch embedding, fixed 2D sine positions within a frame plus a sine embedding of the frame
index, adaLN-Zero blocks, and a final adaLN layer back to patches. What the study varies is
switched by the config:

- `attention`: `JOINT`, full 3D attention over all tokens of the clip (CogVideoX, Yang et al.,
  2024, sec. 2.2), or `DIVIDED`, spatial and temporal blocks interleaved (Latte's variant 1).
- `caption`: `POOLED`, the caption's mean word vector summed into the adaLN condition (chapter 0),
  or `CROSS`, the same plus a cross-attention to the caption's word vectors after every block's
  self-attention, as Wan's blocks do (zero-initialised, so it starts switched off).
- timesteps: one per clip `(b,)` or one per frame `(b, f)` (Diffusion Forcing, Chen et al., 2024):
  with per-frame times every frame's tokens get their own adaLN modulation.

Timesteps may be DDPM's integers in [0, T) or rectified flow's t * 1000 (`reference.diffusion.flow`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import Enum

import torch
from einops import rearrange
from torch import nn

from ..data.vocab import PAD_ID, WORDS
from ..nn.adaln import AdaLNZeroBlock, modulations
from ..nn.attention import Axis
from ..nn.embeddings import TimestepEmbedding, sinusoidal_embedding
from ..nn.latent import LatentStatistics
from ..nn.patch import PatchEmbed, PatchUnembed, patch_grid
from ..nn.text import CaptionCrossAttention, PooledCaptionEncoder
from .latte import sincos_2d


class AttentionKind(str, Enum):
    JOINT = "joint"  # every block attends over all f*h*w tokens
    DIVIDED = "divided"  # spatial and temporal blocks alternate


class CaptionKind(str, Enum):
    POOLED = "pooled"  # adaLN only
    CROSS = "cross"  # adaLN and cross-attention to the words


@dataclass(frozen=True)
class VideoDiTConfig:
    in_channels: int = 4
    dim: int = 128
    depth: int = 4
    heads: int = 4
    mlp_ratio: float = 4.0
    patch: int = 1
    attention: AttentionKind = AttentionKind.JOINT
    caption: CaptionKind = CaptionKind.POOLED
    vocab_size: int = len(WORDS)
    max_words: int = 16  # longest caption the word positions cover

    @classmethod
    def tiny(cls, **changes) -> "VideoDiTConfig":
        return cls(**{"in_channels": 2, "dim": 16, "depth": 2, "heads": 2, **changes})

    def to_dict(self) -> dict:
        return asdict(self)


class VideoDiT(LatentStatistics):
    """Video `(b, c, f, h, w)`, timesteps `(b,)` or `(b, f)`, caption ids `(b, m)` -> `(b, c, f, h, w)`."""

    def __init__(self, config: VideoDiTConfig = VideoDiTConfig()) -> None:
        super().__init__()
        if config.dim % (2 * config.heads) or config.dim % 4:
            raise ValueError(f"width {config.dim} must be divisible by 4 and by 2 x {config.heads} heads")
        if config.attention is AttentionKind.DIVIDED and config.depth % 2:
            raise ValueError(f"divided attention alternates spatial and temporal blocks: depth must be even, got {config.depth}")
        self.config = config
        self.patch_embed = PatchEmbed(config.in_channels, config.dim, config.patch)
        self.time_embed = TimestepEmbedding(config.dim)
        self.caption_encoder = PooledCaptionEncoder(config.vocab_size, config.dim)
        axes = [Axis.JOINT] * config.depth if config.attention is AttentionKind.JOINT else \
            [Axis.SPACE if i % 2 == 0 else Axis.TIME for i in range(config.depth)]
        self.blocks = nn.ModuleList(AdaLNZeroBlock(config.dim, config.heads, a, config.dim, config.mlp_ratio) for a in axes)
        if config.caption is CaptionKind.CROSS:
            self.word_embed = nn.Embedding(config.vocab_size, config.dim, padding_idx=PAD_ID)
            self.word_position = nn.Parameter(torch.zeros(1, config.max_words, config.dim))
            self.cross = nn.ModuleList(CaptionCrossAttention(config.dim, config.heads) for _ in axes)
        self.final_norm = nn.LayerNorm(config.dim, elementwise_affine=False, eps=1e-6)
        self.final_modulation = nn.Sequential(nn.SiLU(), nn.Linear(config.dim, 2 * config.dim))
        self.unembed = PatchUnembed(config.dim, config.in_channels, config.patch)
        for layer in (self.final_modulation[-1], self.unembed.proj):  # DiT: the model starts by predicting 0
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)
        # A latent model's data statistics, per channel (identity for pixels): the model learns
        # (z - mean) / std, and samples are mapped back by `denormalise` before decoding.
        self.register_latent_statistics(config.in_channels)

    def condition(self, t: torch.Tensor, tokens: torch.Tensor, frames: int) -> torch.Tensor:
        """The adaLN condition: `(b, d)` for one timestep per clip, `(b, f, d)` for one per frame."""
        caption = self.caption_encoder(tokens)  # (b, d)
        if t.dim() == 1:
            return self.time_embed(t) + caption
        if t.shape[1] != frames:
            raise ValueError(f"per-frame timesteps must be (b, {frames}), got {tuple(t.shape)}")
        return rearrange(self.time_embed(t.flatten()), "(b f) d -> b f d", f=frames) + caption[:, None]

    def positions(self, grid, device: torch.device | str = "cpu") -> torch.Tensor:
        """`(f*h*w, d)`: fixed 2D sine positions within a frame plus a sine of the frame index, for
        tokens in (f h w) order; defined for any grid, so the model takes clips of any shape."""
        position = sincos_2d(grid.h, grid.w, self.config.dim).to(device)[None] + \
            sinusoidal_embedding(torch.arange(grid.f, device=device), self.config.dim)[:, None]  # (f, h*w, d)
        return rearrange(position, "f n d -> (f n) d")

    def words(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The caption's word vectors `(b, m, d)` for cross-attention, and `(b, m)` True at real words."""
        return self.word_embed(tokens) + self.word_position[:, : tokens.shape[1]], tokens != PAD_ID

    def forward(self, x: torch.Tensor, t: torch.Tensor, tokens: torch.Tensor,
                context: torch.Tensor | None = None) -> torch.Tensor:
        """`context`: optional extra cross-attention tokens `(b, k, d)` beside the words (chapter 7's
        image tokens, as I2VGen-XL puts its CLIP image embedding beside the text); CROSS models only."""
        if x.dim() != 5:
            raise ValueError(f"expected videos (b, c, f, h, w), got shape {tuple(x.shape)}")
        c = self.config
        if context is not None and (c.caption is not CaptionKind.CROSS or context.shape[::2] != (x.shape[0], c.dim)):
            raise ValueError(f"context tokens (b, k, {c.dim}) need a CROSS-caption model; got {tuple(context.shape)} "
                             f"for a {c.caption.value} model")
        if tokens.shape[1] > c.max_words:
            raise ValueError(f"captions of at most {c.max_words} tokens, got {tokens.shape[1]}")
        grid = patch_grid(*x.shape[2:], patch=c.patch)
        h = self.patch_embed(x)[0]  # (b, f*h*w, d)
        h = h + self.positions(grid, x.device)[None].to(h.dtype)
        cond = self.condition(t, tokens, grid.f)
        if c.caption is CaptionKind.CROSS:
            words, keep = self.words(tokens)
            if context is not None:
                words = torch.cat([words, context.to(words.dtype)], dim=1)
                keep = torch.cat([keep, torch.ones(context.shape[:2], dtype=torch.bool, device=keep.device)], dim=1)
        for i, block in enumerate(self.blocks):
            h = block(h, cond, grid.f, grid.h, grid.w)
            if c.caption is CaptionKind.CROSS:
                h = h + self.cross[i](h, words, keep)
        shift, scale = modulations(self.final_modulation(cond), 1, grid.f, grid.h, grid.w, parts=2)[:, 0]
        return self.unembed(self.final_norm(h) * (1 + scale) + shift, grid)
