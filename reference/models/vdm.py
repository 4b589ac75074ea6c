"""VDM's factorised space-time UNet: an image UNet made into a video denoiser (chapter 2).

Video Diffusion Models (Ho et al., 2022, sec. 3) keep image diffusion unchanged and only swap the
denoiser for one that takes a video `(b, c, f, h, w)`. Their 3D UNet is the image UNet with

- every 2D convolution applied to each frame on its own ("space-only 3D convolution");
- every spatial attention kept per frame, and a *temporal* attention after it, in which each
  pixel position attends over the frames (divided space-time attention), with a relative
  position bias over frame offsets;
- the time mixing switchable off, so the same network trains jointly on videos and on single
  images: a sample flagged `independent` has temporal attention masked to the diagonal (each
  frame sees only itself), and its frames are then denoised exactly as separate images.

This module builds that UNet from chapter 0's image UNet (`reference.models.unet2d`): the spatial
layers keep the image model's names, so an image checkpoint loads into them, and every temporal
layer starts as the identity (zero-initialised output), so the inflated model equals the image
model frame by frame until training moves it (tested). Two options that chapter 2 compares:

- `ConvKind.SPATIAL` is VDM's choice: convs per frame, time mixed only by attention;
- `ConvKind.INFLATED` adds a residual temporal convolution after every residual block, making each
  block a (2+1)D convolution (pseudo-3D, as Make-A-Video), also identity at initialisation.

Temporal position is `TemporalPosition.RELATIVE` (a learned bias per head and frame offset, as
VDM) or `SINUSOIDAL` (fixed absolute frame embeddings added before attention).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import Enum

import torch
from einops import rearrange
from torch import nn

from ..data.vocab import WORDS
from ..nn.attention import attention
from ..nn.conv import TemporalConv
from ..nn.embeddings import sinusoidal_embedding
from .unet2d import UNet2D, UNet2DConfig, concat_condition


class ConvKind(str, Enum):
    SPATIAL = "spatial"  # VDM: each conv per frame; only attention mixes time
    INFLATED = "inflated"  # (2+1)D: per-frame conv, then a residual temporal conv (identity at init)


class TemporalPosition(str, Enum):
    RELATIVE = "relative"  # learned bias per head and frame offset i - j (VDM)
    SINUSOIDAL = "sinusoidal"  # fixed absolute frame embedding added to the tokens


@dataclass(frozen=True)
class VDMUNetConfig:
    in_channels: int = 3
    cond_channels: int = 0  # as UNet2DConfig: input channels concatenated to x (chapter 4)
    channels: tuple[int, ...] = (32, 64, 64)  # as UNet2DConfig
    blocks_per_level: int = 1
    attention_heads: int = 4  # spatial attention (lowest resolution)
    temporal_heads: int = 4  # temporal attention (after every residual block)
    embed_dim: int = 128
    vocab_size: int = len(WORDS)
    groups: int = 8
    conv: ConvKind = ConvKind.SPATIAL
    temporal_position: TemporalPosition = TemporalPosition.RELATIVE
    max_frames: int = 32  # longest clip the relative bias covers
    temporal_condition: bool = False  # the temporal attention also sees the timestep + caption embedding (chapter 4)

    @classmethod
    def tiny(cls) -> "VDMUNetConfig":
        """The preset for tests and CI: runs in milliseconds."""
        return cls(channels=(8, 16), embed_dim=32, attention_heads=2, temporal_heads=2, groups=4, max_frames=8)

    def image_config(self) -> UNet2DConfig:
        """The image UNet whose weights the spatial layers share."""
        return UNet2DConfig(
            in_channels=self.in_channels, cond_channels=self.cond_channels, channels=self.channels, blocks_per_level=self.blocks_per_level,
            attention_heads=self.attention_heads, embed_dim=self.embed_dim, vocab_size=self.vocab_size,
            groups=self.groups,
        )

    def to_dict(self) -> dict:
        return asdict(self)


class TemporalAttention(nn.Module):
    """Each pixel position attends over frames; `independent` samples see only their own frame."""

    def __init__(self, channels: int, heads: int, groups: int, position: TemporalPosition, max_frames: int,
                 condition_dim: int = 0) -> None:
        super().__init__()
        if channels % heads:
            raise ValueError(f"{channels} channels are not divisible by {heads} temporal heads")
        self.heads = heads
        self.position = position
        self.max_frames = max_frames
        self.norm = nn.GroupNorm(groups, channels)
        self.qkv = nn.Linear(channels, 3 * channels)
        self.out = nn.Linear(channels, channels)
        # Optional: the embedding (timestep, caption, ...) added to every token, so a temporal layer
        # can tell which motion it is asked for even when the spatial layers around it are frozen.
        self.condition = nn.Linear(condition_dim, channels) if condition_dim else None
        if position is TemporalPosition.RELATIVE:
            self.relative_bias = nn.Parameter(torch.zeros(heads, 2 * max_frames - 1))  # offsets -(F-1)..F-1
        nn.init.zeros_(self.out.weight)  # identity at initialisation: the residual adds 0
        nn.init.zeros_(self.out.bias)

    def bias(self, f: int, independent: torch.Tensor) -> torch.Tensor:
        """Additive attention bias `(b, heads, f, f)`: relative position, and -inf off the diagonal
        for independent samples."""
        b = independent.shape[0]
        bias = torch.zeros(b, self.heads, f, f, device=independent.device)
        if self.position is TemporalPosition.RELATIVE:
            offsets = torch.arange(f, device=independent.device)
            offsets = offsets[:, None] - offsets[None, :] + self.max_frames - 1  # (f, f), query minus key
            bias = bias + self.relative_bias[:, offsets]  # (heads, f, f) broadcast over b
        diagonal = torch.eye(f, dtype=torch.bool, device=independent.device)
        blocked = independent[:, None, None, None] & ~diagonal  # (b, 1, f, f)
        return bias.masked_fill(blocked, float("-inf"))

    def forward(self, x: torch.Tensor, f: int, independent: torch.Tensor, emb: torch.Tensor | None = None) -> torch.Tensor:
        """x: `(b f) c h w` per-frame features; independent: `(b,)` bool; emb: `(b f, e)`, used when
        the layer was built with a condition."""
        if f > self.max_frames:
            raise ValueError(f"{f} frames exceed max_frames={self.max_frames} of the relative position bias")
        _, c, h, w = x.shape
        tokens = rearrange(self.norm(x), "(b f) c h w -> (b h w) f c", f=f)
        if self.condition is not None:
            if emb is None:
                raise ValueError("this temporal attention is conditioned: pass emb")
            shift = rearrange(self.condition(emb), "(b f) c -> b 1 f c", f=f).expand(-1, h * w, -1, -1)
            tokens = tokens + rearrange(shift, "b n f c -> (b n) f c")
        if self.position is TemporalPosition.SINUSOIDAL:
            frame = torch.arange(f, device=x.device)  # (f,)
            if independent.any():  # each separate image is frame 0 of its own clip
                frame = (frame[None, :] * (~independent)[:, None]).repeat_interleave(h * w, dim=0)  # (b h w, f)
            tokens = tokens + sinusoidal_embedding(frame.flatten(), c).view(*frame.shape, c).to(tokens.dtype)
        q, k, v = rearrange(self.qkv(tokens), "n f (three heads d) -> three n heads f d", three=3, heads=self.heads)
        bias = self.bias(f, independent)  # (b, heads, f, f)
        if independent.any():
            bias = bias.repeat_interleave(h * w, dim=0)  # one per pixel sequence, in (b h w) order
        else:
            bias = bias[:1]  # the same for every sequence: broadcast
        bias = bias.to(q.dtype)
        attended = rearrange(attention(q, k, v, mask=bias), "n heads f d -> n f (heads d)")
        return x + rearrange(self.out(attended), "(b h w) f c -> (b f) c h w", h=h, w=w)


class TemporalConvBlock(nn.Module):
    """GroupNorm, SiLU, then a temporal convolution over frames, as a residual that starts at zero."""

    def __init__(self, channels: int, groups: int, kernel_t: int = 3) -> None:
        super().__init__()
        self.norm = nn.GroupNorm(groups, channels)
        self.conv = TemporalConv(channels, channels, kernel_t)
        nn.init.zeros_(self.conv.weight)
        nn.init.zeros_(self.conv.bias)

    def forward(self, x: torch.Tensor, f: int, independent: torch.Tensor) -> torch.Tensor:
        video = rearrange(nn.functional.silu(self.norm(x)), "(b f) c h w -> b c f h w", f=f)
        update = self.conv(video)  # (b, c, f, h, w)
        if independent.any():  # separate images: only the kernel's centre tap, as a one-frame clip sees
            centre = self.conv.weight[:, :, self.conv.kernel_size[0] // 2]  # (c_out, c_in)
            alone = torch.einsum("oc,bcfhw->bofhw", centre, video) + self.conv.bias[:, None, None, None]
            update = torch.where(independent[:, None, None, None, None], alone, update)
        return x + rearrange(update, "b c f h w -> (b f) c h w")


class TemporalLayers(nn.Module):
    """What follows a spatial layer: an optional temporal conv, then temporal attention."""

    def __init__(self, channels: int, config: VDMUNetConfig) -> None:
        super().__init__()
        self.conv = TemporalConvBlock(channels, config.groups) if config.conv is ConvKind.INFLATED else None
        self.attention = TemporalAttention(
            channels, config.temporal_heads, config.groups, config.temporal_position, config.max_frames,
            config.embed_dim if config.temporal_condition else 0,
        )

    def forward(self, x: torch.Tensor, f: int, independent: torch.Tensor, emb: torch.Tensor | None = None) -> torch.Tensor:
        if self.conv is not None:
            x = self.conv(x, f, independent)
        return self.attention(x, f, independent, emb)


class VDMUNet(UNet2D):
    """eps/x0/v-predicting space-time UNet for videos `(b, c, f, h, w)`, conditioned on timestep and caption.

    The spatial layers are `UNet2D`'s own (built by its constructor, so `load_image_weights` takes
    an image checkpoint), applied to every frame; `temporal_*` layers, one after each spatial
    layer, mix frames.
    """

    config: VDMUNetConfig  # type: ignore[assignment]

    def __init__(self, config: VDMUNetConfig = VDMUNetConfig()) -> None:
        super().__init__(config.image_config())
        self.config = config
        width = config.channels[-1]
        self.temporal_down = nn.ModuleList(TemporalLayers(b.conv2.out_channels, config) for b in self.down_blocks)
        self.temporal_mid1 = TemporalLayers(width, config)
        self.temporal_mid_attention = TemporalLayers(width, config)
        self.temporal_mid2 = TemporalLayers(width, config)
        self.temporal_up = nn.ModuleList(TemporalLayers(b.conv2.out_channels, config) for b in self.up_blocks)

    def load_image_weights(self, image_model: UNet2D) -> None:
        """Copy an image UNet into the spatial layers; the temporal layers keep their identity init."""
        if image_model.config != self.config.image_config():
            raise ValueError(f"image model config {image_model.config} does not match {self.config.image_config()}")
        missing, unexpected = self.load_state_dict(image_model.state_dict(), strict=False)
        if unexpected or any(not k.startswith("temporal_") for k in missing):
            raise ValueError(f"image weights do not fit: missing {missing}, unexpected {unexpected}")

    def forward(
        self, x: torch.Tensor, t: torch.Tensor, tokens: torch.Tensor, independent: torch.Tensor | None = None,
        extra: torch.Tensor | None = None, cond: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """x: `(b, c, f, h, w)`; t: `(b,)`; tokens: `(b, n)`; independent: `(b,)` bool, True where a
        sample's frames are separate images (no temporal mixing); extra: `(b, embed_dim)` added to
        the embedding, as in UNet2D; cond: `(b, cond_channels, f, h, w)` concatenated to x. Returns
        `(b, c, f, h, w)`."""
        if x.dim() != 5:
            raise ValueError(f"expected videos (b, c, f, h, w), got shape {tuple(x.shape)}")
        b, _, f, height, width = x.shape
        levels = len(self.config.channels) - 1
        if height % 2**levels or width % 2**levels:
            raise ValueError(f"height and width must be divisible by {2**levels}, got {(height, width)}")
        if independent is None:
            independent = torch.zeros(b, dtype=torch.bool, device=x.device)
        if independent.shape != (b,) or independent.dtype != torch.bool:
            raise ValueError(f"independent must be a (b,) bool tensor, got {independent.dtype} {tuple(independent.shape)}")

        x = concat_condition(x, cond, self.config.cond_channels)
        emb = self.time_embed(t) + self.caption_encoder(tokens)  # (b, e)
        if extra is not None:
            emb = emb + extra
        emb = emb.repeat_interleave(f, dim=0)  # (b f, e): every frame gets its sample's embedding
        h = self.conv_in(rearrange(x, "b c f h w -> (b f) c h w"))
        skips = [h]
        blocks = iter(zip(self.down_blocks, self.temporal_down))
        for level in range(levels + 1):
            for _ in range(self.config.blocks_per_level):
                block, temporal = next(blocks)
                h = temporal(block(h, emb), f, independent, emb)
                skips.append(h)
            if level < levels:
                h = self.downsamplers[level](h)
                skips.append(h)

        h = self.temporal_mid1(self.mid_block1(h, emb), f, independent, emb)
        h = self.temporal_mid_attention(self.mid_attention(h), f, independent, emb)
        h = self.temporal_mid2(self.mid_block2(h, emb), f, independent, emb)

        blocks = iter(zip(self.up_blocks, self.temporal_up))
        for level in range(levels, -1, -1):
            for _ in range(self.config.blocks_per_level + 1):
                block, temporal = next(blocks)
                h = temporal(block(torch.cat([h, skips.pop()], dim=1), emb), f, independent, emb)
            if level > 0:
                h = nn.functional.interpolate(h, scale_factor=2.0, mode="nearest")
                h = self.upsamplers[levels - level](h)

        out = self.conv_out(nn.functional.silu(self.norm_out(h)))
        return rearrange(out, "(b f) c h w -> b c f h w", f=f)
