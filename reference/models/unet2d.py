"""A small text-conditioned image UNet: the denoiser of chapter 0's `frames-tiny`.

The architecture is DDPM's UNet (Ho et al., 2020, appendix B) cut down for 32x32 toy frames:
residual blocks with GroupNorm and SiLU, the timestep-plus-caption embedding added as a
per-channel scale and shift (FiLM, as in Dhariwal & Nichol, 2021, "AdaGN"), self-attention at the
lowest resolution only, stride-2 convolutions down and nearest-neighbour upsampling up, and skip
connections concatenated on the way up. It takes images `(b, c, h, w)`; a video `(b, c, 1, h, w)`
with one frame is accepted too and returned with its frame axis, so it can stand in any sampler
that works on videos. Chapter 0.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from einops import rearrange
from torch import nn

from ..data.vocab import WORDS
from ..nn.embeddings import TimestepEmbedding
from ..nn.text import PooledCaptionEncoder


@dataclass(frozen=True)
class UNet2DConfig:
    in_channels: int = 3  # RGB
    cond_channels: int = 0  # further input channels concatenated to x (a low-resolution image, a mask; chapter 4)
    channels: tuple[int, ...] = (32, 64, 64)  # width at each resolution (halved between levels)
    blocks_per_level: int = 1  # residual blocks per level on the way down (one more on the way up)
    attention_heads: int = 4  # heads of the self-attention at the lowest resolution
    embed_dim: int = 128  # width of the timestep + caption embedding
    vocab_size: int = len(WORDS)  # caption vocabulary (reference.data.WORDS)
    groups: int = 8  # GroupNorm groups

    @classmethod
    def tiny(cls) -> "UNet2DConfig":
        """The preset for tests and CI: runs in milliseconds."""
        return cls(channels=(8, 16), embed_dim=32, attention_heads=2, groups=4)

    def to_dict(self) -> dict:
        return asdict(self)


class ResBlock(nn.Module):
    """GroupNorm-SiLU-conv twice; the embedding scales and shifts the second normalisation."""

    def __init__(self, in_ch: int, out_ch: int, embed_dim: int, groups: int) -> None:
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, in_ch)
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.film = nn.Linear(embed_dim, 2 * out_ch)
        self.norm2 = nn.GroupNorm(groups, out_ch)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1)
        self.skip = nn.Conv2d(in_ch, out_ch, 1) if in_ch != out_ch else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(nn.functional.silu(self.norm1(x)))
        scale, shift = rearrange(self.film(emb), "b (two c) -> two b c 1 1", two=2)
        h = self.norm2(h) * (1 + scale) + shift
        h = self.conv2(nn.functional.silu(h))
        return self.skip(x) + h


class SelfAttention2D(nn.Module):
    """Multi-head self-attention over the h*w positions of a feature map, with a residual."""

    def __init__(self, channels: int, heads: int, groups: int) -> None:
        super().__init__()
        self.heads = heads
        self.norm = nn.GroupNorm(groups, channels)
        self.qkv = nn.Linear(channels, 3 * channels)
        self.out = nn.Linear(channels, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, _, h, w = x.shape
        tokens = rearrange(self.norm(x), "b c h w -> b (h w) c")
        q, k, v = rearrange(self.qkv(tokens), "b n (three heads d) -> three b heads n d", three=3, heads=self.heads)
        attended = nn.functional.scaled_dot_product_attention(q, k, v)
        attended = rearrange(attended, "b heads n d -> b n (heads d)")
        return x + rearrange(self.out(attended), "b (h w) c -> b c h w", h=h, w=w)


def concat_condition(x: torch.Tensor, cond: torch.Tensor | None, channels: int) -> torch.Tensor:
    """x with the condition channels appended (axis 1), after checking they are what the config says."""
    if channels == 0:
        if cond is not None:
            raise ValueError("this network takes no condition channels (cond_channels=0); got cond")
        return x
    if cond is None or cond.shape[1] != channels or cond.shape[0] != x.shape[0] or cond.shape[2:] != x.shape[2:]:
        got = None if cond is None else tuple(cond.shape)
        raise ValueError(f"expected cond of shape {(x.shape[0], channels, *x.shape[2:])} beside x, got {got}")
    return torch.cat([x, cond.to(x.dtype)], dim=1)


class UNet2D(nn.Module):
    """eps/x0/v-predicting UNet for images, conditioned on timestep and caption tokens."""

    def __init__(self, config: UNet2DConfig = UNet2DConfig()) -> None:
        super().__init__()
        self.config = config
        chs, g, e = config.channels, config.groups, config.embed_dim
        self.time_embed = TimestepEmbedding(e)
        self.caption_encoder = PooledCaptionEncoder(config.vocab_size, e)
        self.conv_in = nn.Conv2d(config.in_channels + config.cond_channels, chs[0], 3, padding=1)

        self.down_blocks = nn.ModuleList()
        self.downsamplers = nn.ModuleList()
        skip_channels = [chs[0]]
        width = chs[0]
        for level, ch in enumerate(chs):
            for _ in range(config.blocks_per_level):
                self.down_blocks.append(ResBlock(width, ch, e, g))
                width = ch
                skip_channels.append(width)
            if level < len(chs) - 1:  # stride-2 conv between levels
                self.downsamplers.append(nn.Conv2d(width, width, 3, stride=2, padding=1))
                skip_channels.append(width)

        self.mid_block1 = ResBlock(width, width, e, g)
        self.mid_attention = SelfAttention2D(width, config.attention_heads, g)
        self.mid_block2 = ResBlock(width, width, e, g)

        self.up_blocks = nn.ModuleList()
        self.upsamplers = nn.ModuleList()
        for level, ch in reversed(list(enumerate(chs))):
            for _ in range(config.blocks_per_level + 1):
                self.up_blocks.append(ResBlock(width + skip_channels.pop(), ch, e, g))
                width = ch
            if level > 0:
                self.upsamplers.append(nn.Conv2d(width, width, 3, padding=1))

        self.norm_out = nn.GroupNorm(g, width)
        self.conv_out = nn.Conv2d(width, config.in_channels, 3, padding=1)
        self.initialize_weights()

    def initialize_weights(self) -> None:
        """Special initialisation, all in one place.

        - The output convolution starts at zero, so the untrained network predicts 0 (the mean of
          eps) and early training is stable (as DDPM's and DiT's final layers).
        - Each residual block's last convolution starts at zero, so every block starts as the
          identity and the deep network trains like a shallow one at first.
        """
        nn.init.zeros_(self.conv_out.weight)
        nn.init.zeros_(self.conv_out.bias)
        for block in [*self.down_blocks, self.mid_block1, self.mid_block2, *self.up_blocks]:
            nn.init.zeros_(block.conv2.weight)
            nn.init.zeros_(block.conv2.bias)

    def forward(self, x: torch.Tensor, t: torch.Tensor, tokens: torch.Tensor,
                extra: torch.Tensor | None = None, cond: torch.Tensor | None = None) -> torch.Tensor:
        """x: `(b, c, h, w)` or `(b, c, 1, h, w)`; t: `(b,)`; tokens: `(b, n)` caption ids; extra: an
        optional further condition `(b, embed_dim)` added to the timestep and caption embedding
        (VideoFusion's frame index, chapter 6; a CLIP image embedding, chapter 4); cond: the
        `cond_channels` input channels, shaped as x, concatenated to it (chapter 4)."""
        video = x.dim() == 5
        if video:
            if x.shape[2] != 1:
                raise ValueError(f"UNet2D denoises images; got a video with {x.shape[2]} frames")
            x = rearrange(x, "b c 1 h w -> b c h w")
            cond = rearrange(cond, "b c 1 h w -> b c h w") if cond is not None else None
        if x.dim() != 4:
            raise ValueError(f"expected (b, c, h, w) images, got shape {tuple(x.shape)}")
        x = concat_condition(x, cond, self.config.cond_channels)
        levels = len(self.config.channels) - 1
        if x.shape[-1] % 2**levels or x.shape[-2] % 2**levels:
            raise ValueError(f"height and width must be divisible by {2**levels}, got {tuple(x.shape[-2:])}")
        emb = self.time_embed(t) + self.caption_encoder(tokens)  # (b, e)
        if extra is not None:
            emb = emb + extra

        h = self.conv_in(x)
        skips = [h]
        blocks = iter(self.down_blocks)
        for level in range(len(self.config.channels)):
            for _ in range(self.config.blocks_per_level):
                h = next(blocks)(h, emb)
                skips.append(h)
            if level < levels:
                h = self.downsamplers[level](h)
                skips.append(h)

        h = self.mid_block2(self.mid_attention(self.mid_block1(h, emb)), emb)

        blocks = iter(self.up_blocks)
        for level in range(levels, -1, -1):
            for _ in range(self.config.blocks_per_level + 1):
                h = next(blocks)(torch.cat([h, skips.pop()], dim=1), emb)
            if level > 0:
                h = nn.functional.interpolate(h, scale_factor=2.0, mode="nearest")
                h = self.upsamplers[levels - level](h)

        out = self.conv_out(nn.functional.silu(self.norm_out(h)))
        return rearrange(out, "b c h w -> b c 1 h w") if video else out
