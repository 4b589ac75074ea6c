"""Latte: a video diffusion transformer with four ways to split space from time (chapter 3).

Latte (Ma et al., 2024) cuts a clip into patch tokens (uniform per-frame patches or tubelets that
span frames, `reference.nn.patch`), runs DiT blocks with adaLN-Zero conditioning on them
(`reference.nn.adaln`), and decodes the tokens back into a clip. Its question is how the blocks
should divide the work between space and time; it compares four designs, selected here by
`LatteVariant`:

1. `INTERLEAVED`: spatial blocks (attention within each frame) and temporal blocks (attention
   along frames at each position) alternate, as Latte's released model does.
2. `LATE_FUSION`: all spatial blocks first, then all temporal blocks.
3. `SPLIT_ATTENTION`: every block has a spatial attention and then a temporal attention, each
   with its own adaLN modulation, before one MLP.
4. `SPLIT_HEADS`: every block has one multi-head attention whose heads are shared out, half
   attending within frames and half along time, concatenated before the output projection.

Every variant has `depth` blocks, so variants 1, 2 and 4 have the same parameters and 3 has one
more attention per block. The frame position is a fixed sinusoidal embedding added to the tokens
(`ABSOLUTE`, as Latte) or 1D rotary angles in every temporal attention (`ROPE`); positions within
a frame always use a fixed 2D sinusoidal embedding. Timestep and pooled caption are summed into
the conditioning vector of every block and of the final layer (Latte's "S-AdaLN").

Two options let the same model learn as Latte's released text-to-video model does (chapters 3 and 6):
`caption=CROSS` adds a cross-attention to the caption's words after every *spatial* block (Latte's
T2V model is built from PixArt-alpha's blocks, whose spatial blocks attend to the T5 words and whose
temporal blocks do not; there the cross-attention sits between the self-attention and the MLP,
here it follows the whole block, as in the book's `VideoDiT`, and starts at zero), and
`latents=True` keeps the per-channel statistics of a VAE's latents, so the model can learn in
chapter 5's causal-VAE latents with chapter 6's recipe.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import Enum

import torch
from einops import rearrange
from torch import nn

from ..data.vocab import PAD_ID, WORDS
from ..nn.adaln import AdaLNZeroBlock
from ..nn.attention import Axis
from ..nn.embeddings import TimestepEmbedding, sinusoidal_embedding
from ..nn.latent import LatentStatistics
from ..nn.patch import PatchEmbed, PatchUnembed, patch_grid
from ..nn.rope import rope_angles
from ..nn.text import CaptionCrossAttention, PooledCaptionEncoder


class CaptionRoute(str, Enum):
    POOLED = "pooled"  # the mean word vector in adaLN only (S-AdaLN)
    CROSS = "cross"  # adaLN, and a cross-attention to the words after every spatial block (Latte's T2V)


class LatteVariant(str, Enum):
    INTERLEAVED = "interleaved"  # variant 1
    LATE_FUSION = "late_fusion"  # variant 2
    SPLIT_ATTENTION = "split_attention"  # variant 3
    SPLIT_HEADS = "split_heads"  # variant 4


class PatchKind(str, Enum):
    UNIFORM = "uniform"  # p x p patches of every frame
    TUBELET = "tubelet"  # p_f x p x p blocks across frames ("compression frame patch embedding")


class FramePosition(str, Enum):
    ABSOLUTE = "absolute"  # sinusoidal embedding of the frame index, added to the tokens
    ROPE = "rope"  # rotary angles of the frame index, in temporal attention


@dataclass(frozen=True)
class LatteConfig:
    variant: LatteVariant = LatteVariant.INTERLEAVED
    patch_kind: PatchKind = PatchKind.UNIFORM
    frame_position: FramePosition = FramePosition.ABSOLUTE
    in_channels: int = 3
    dim: int = 128
    depth: int = 4  # blocks (variants 1 and 2: half spatial, half temporal)
    heads: int = 4
    mlp_ratio: float = 4.0
    patch: int = 4
    patch_t: int = 2  # frames per tubelet (used when patch_kind is TUBELET)
    vocab_size: int = len(WORDS)
    caption: CaptionRoute = CaptionRoute.POOLED
    max_words: int = 16  # longest caption the word positions cover (CROSS)
    latents: bool = False  # learns in normalised VAE latents: keeps their per-channel mean and std

    @classmethod
    def tiny(cls, **changes) -> "LatteConfig":
        """For tests and CI: two blocks of width 16."""
        return cls(**{"dim": 16, "depth": 2, "heads": 2, "patch": 4, **changes})

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def frames_per_token(self) -> int:
        return self.patch_t if self.patch_kind is PatchKind.TUBELET else 1


def block_axes(config: LatteConfig) -> list[tuple[Axis, ...]]:
    """The attention axes of each block, in order: the whole difference between the variants."""
    half = config.depth // 2
    return {
        LatteVariant.INTERLEAVED: [(Axis.SPACE,) if i % 2 == 0 else (Axis.TIME,) for i in range(config.depth)],
        LatteVariant.LATE_FUSION: [(Axis.SPACE,)] * half + [(Axis.TIME,)] * (config.depth - half),
        LatteVariant.SPLIT_ATTENTION: [(Axis.SPACE, Axis.TIME)] * config.depth,
        LatteVariant.SPLIT_HEADS: [(Axis.SPACE, Axis.TIME)] * config.depth,
    }[config.variant]


def sincos_2d(h: int, w: int, dim: int) -> torch.Tensor:
    """Fixed `(h*w, dim)` position embedding: half the channels encode the row, half the column."""
    rows, cols = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    return torch.cat([sinusoidal_embedding(rows.flatten(), dim // 2), sinusoidal_embedding(cols.flatten(), dim // 2)], -1)


class FinalLayer(nn.Module):
    """adaLN (shift and scale, zero-initialised) then a linear map of each token back to its patch."""

    def __init__(self, config: LatteConfig) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(config.dim, elementwise_affine=False, eps=1e-6)
        self.modulation = nn.Sequential(nn.SiLU(), nn.Linear(config.dim, 2 * config.dim))
        self.unembed = PatchUnembed(config.dim, config.in_channels, config.patch, config.frames_per_token)
        for layer in (self.modulation[-1], self.unembed.proj):  # DiT: the model starts by predicting 0
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, tokens: torch.Tensor, cond: torch.Tensor, grid) -> torch.Tensor:
        shift, scale = rearrange(self.modulation(cond), "b (two d) -> two b 1 d", two=2)
        return self.unembed(self.norm(tokens) * (1 + scale) + shift, grid)


class Latte(LatentStatistics):
    """eps/x0/v-predicting video transformer: `(b, c, f, h, w)`, timestep `(b,)`, caption `(b, n)`."""

    def __init__(self, config: LatteConfig = LatteConfig()) -> None:
        super().__init__()
        if config.dim % (2 * config.heads) or config.dim % 4:
            raise ValueError(f"width {config.dim} must be divisible by 4 and by 2 x {config.heads} heads")
        if config.variant in (LatteVariant.INTERLEAVED, LatteVariant.LATE_FUSION) and config.depth % 2:
            raise ValueError(f"variants 1 and 2 need an even depth (spatial and temporal blocks), got {config.depth}")
        self.config = config
        self.patch_embed = PatchEmbed(config.in_channels, config.dim, config.patch, config.frames_per_token)
        self.time_embed = TimestepEmbedding(config.dim)
        self.caption_encoder = PooledCaptionEncoder(config.vocab_size, config.dim)
        split_heads = config.variant is LatteVariant.SPLIT_HEADS
        self.blocks = nn.ModuleList(
            AdaLNZeroBlock(config.dim, config.heads, axes, config.dim, config.mlp_ratio, split_heads=split_heads)
            for axes in block_axes(config)
        )
        if config.caption is CaptionRoute.CROSS:
            self.word_embed = nn.Embedding(config.vocab_size, config.dim, padding_idx=PAD_ID)
            self.word_position = nn.Parameter(torch.zeros(1, config.max_words, config.dim))
            self.cross = nn.ModuleDict({str(i): CaptionCrossAttention(config.dim, config.heads)
                                        for i, axes in enumerate(block_axes(config)) if Axis.TIME not in axes})
        self.final = FinalLayer(config)
        if config.latents:
            self.register_latent_statistics(config.in_channels)

    def forward(self, x: torch.Tensor, t: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        if x.dim() != 5:
            raise ValueError(f"expected videos (b, c, f, h, w), got shape {tuple(x.shape)}")
        c = self.config
        grid = patch_grid(*x.shape[2:], patch=c.patch, patch_t=c.frames_per_token)
        tokens_x, _ = self.patch_embed(x)  # (b, n, d), n = grid.f * grid.h * grid.w in (f h w) order
        position = sincos_2d(grid.h, grid.w, c.dim).to(x.device)[None]  # (1, h*w, d)
        if c.frame_position is FramePosition.ABSOLUTE:
            frame = sinusoidal_embedding(torch.arange(grid.f, device=x.device), c.dim)  # (f, d)
            position = position + frame[:, None]  # (f, h*w, d)
        tokens_x = (tokens_x.unflatten(1, (grid.f, grid.h * grid.w)) + position.to(tokens_x.dtype)).flatten(1, 2)
        rope = None
        if c.frame_position is FramePosition.ROPE:
            rope = {Axis.TIME: rope_angles(torch.arange(grid.f, device=x.device), c.dim // c.heads)}
        cond = self.time_embed(t) + self.caption_encoder(tokens)  # (b, d)
        if c.caption is CaptionRoute.CROSS:
            if tokens.shape[1] > c.max_words:
                raise ValueError(f"captions of at most {c.max_words} tokens, got {tokens.shape[1]}")
            words, keep = self.word_embed(tokens) + self.word_position[:, : tokens.shape[1]], tokens != PAD_ID
        for i, block in enumerate(self.blocks):
            tokens_x = block(tokens_x, cond, grid.f, grid.h, grid.w, rope=rope)
            if c.caption is CaptionRoute.CROSS and str(i) in self.cross:
                tokens_x = tokens_x + self.cross[str(i)](tokens_x, words, keep)
        return self.final(tokens_x, cond, grid)
