"""A TimeSformer-style video classifier with any of its five space-time attention schemes (chapter 2).

TimeSformer (Bertasius et al., 2021) is ViT (Dosovitskiy et al., 2021) applied to the patches of
every frame; its paper compares five ways for the tokens of a clip to attend to each other
(table 1): space-only, joint space-time, divided space-time, sparse local-global and axial. In
each block the variant's attentions run one after the other, each with its own pre-norm and
residual, then the MLP. Every attention but the block's last is followed by a linear layer
(`fc`, TimeSformer's `temporal_fc`), which is why divided and sparse blocks cost one attention plus
one linear layer more than space-only ones, and axial blocks two of each. Space-only attention
has no temporal position embedding (frames are classified on their own and pooled).

Two simplifications, both visible in the parameter count only at the 1e-5 level: the clip is
pooled by averaging its tokens rather than through a class token, and the position embedding
therefore covers patches only. `VideoViTConfig.vit_base` builds the paper's ViT-B/16 setting;
`tiny` builds the toy classifiers of the chapter's experiment.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from ..nn.attention import VARIANT_AXES, FoldedSelfAttention, Variant
from ..nn.patch import PatchEmbed, patch_grid


@dataclass(frozen=True)
class VideoViTConfig:
    variant: Variant = Variant.DIVIDED
    dim: int = 64
    depth: int = 3
    heads: int = 4
    mlp_ratio: float = 4.0
    frames: int = 8
    image_size: int = 32
    patch: int = 4
    in_channels: int = 3
    classes: int = 5

    @classmethod
    def vit_base(cls, variant: Variant, classes: int = 174) -> "VideoViTConfig":
        """ViT-B/16 on 8 frames of 224x224, as in TimeSformer's table 1 (174 classes: SSv2)."""
        return cls(variant=variant, dim=768, depth=12, heads=12, frames=8, image_size=224, patch=16, classes=classes)

    @classmethod
    def tiny(cls, variant: Variant = Variant.DIVIDED) -> "VideoViTConfig":
        """For tests: 4 frames of 16x16, two blocks of width 16."""
        return cls(variant=variant, dim=16, depth=2, heads=2, frames=4, image_size=16, patch=4, classes=3)

    def to_dict(self) -> dict:
        return asdict(self)


class VideoViTBlock(nn.Module):
    """The variant's attentions in a row (pre-norm, residual; `fc` after all but the last), then an MLP."""

    def __init__(self, config: VideoViTConfig) -> None:
        super().__init__()
        axes = VARIANT_AXES[config.variant]
        self.axes = axes
        self.norms = nn.ModuleList(nn.LayerNorm(config.dim) for _ in axes)
        self.attentions = nn.ModuleList(FoldedSelfAttention(config.dim, config.heads, axis) for axis in axes)
        self.fcs = nn.ModuleList(nn.Linear(config.dim, config.dim) for _ in axes[:-1])
        self.norm_mlp = nn.LayerNorm(config.dim)
        hidden = int(config.dim * config.mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(config.dim, hidden), nn.GELU(), nn.Linear(hidden, config.dim))

    def forward(self, x: torch.Tensor, f: int, h: int, w: int) -> torch.Tensor:
        for i, (norm, attention) in enumerate(zip(self.norms, self.attentions)):
            update = attention(norm(x), f, h, w)
            x = x + (self.fcs[i](update) if i < len(self.fcs) else update)
        return x + self.mlp(self.norm_mlp(x))


class VideoViT(nn.Module):
    """Video `(b, c, f, h, w)` -> class logits `(b, classes)`."""

    def __init__(self, config: VideoViTConfig = VideoViTConfig()) -> None:
        super().__init__()
        self.config = config
        grid = patch_grid(config.frames, config.image_size, config.image_size, config.patch)
        self.patch_embed = PatchEmbed(config.in_channels, config.dim, config.patch)
        self.pos_embed = nn.Parameter(0.02 * torch.randn(grid.h * grid.w, config.dim))  # per patch of a frame
        if config.variant is not Variant.SPACE:
            self.time_embed = nn.Parameter(torch.zeros(config.frames, config.dim))  # per frame
        self.blocks = nn.ModuleList(VideoViTBlock(config) for _ in range(config.depth))
        self.norm = nn.LayerNorm(config.dim)
        self.head = nn.Linear(config.dim, config.classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = self.config
        if x.dim() != 5 or x.shape[1:] != (c.in_channels, c.frames, c.image_size, c.image_size):
            raise ValueError(
                f"expected videos (b, {c.in_channels}, {c.frames}, {c.image_size}, {c.image_size}), got {tuple(x.shape)}"
            )
        tokens, grid = self.patch_embed(x)  # (b, f*h*w, d) in (f h w) order
        position = self.pos_embed[None, None]  # (1, 1, h*w, d)
        if c.variant is not Variant.SPACE:
            position = position + self.time_embed[None, :, None]  # (1, f, h*w, d)
        tokens = (tokens.unflatten(1, (grid.f, grid.h * grid.w)) + position).flatten(1, 2)
        for block in self.blocks:
            tokens = block(tokens, grid.f, grid.h, grid.w)
        return self.head(self.norm(tokens).mean(dim=1))  # mean over all tokens of the clip
