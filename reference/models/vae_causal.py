"""A CogVideoX-style 3D causal VAE: (1 + T k) frames in, (1 + k) latent frames out (chapter 5).

CogVideoX (Yang et al., 2024, sec. 2.1) compresses video 4x in time and 8x in height and width
with an encoder and decoder built from causal 3D convolutions (`reference.nn.causal`). Its
temporal downsampling keeps the first frame on its own and averages the others in pairs, so a
clip of 4k + 1 frames becomes k + 1 latent frames, and the first latent frame depends on the first
frame only: an image is a one-frame video, and one VAE tokenises both.

This toy version keeps every one of those properties (tested) at a smaller size: the number of
levels sets the spatial factor 2^(levels - 1), `time_levels` sets the temporal factor
T = 2^time_levels (T = 4 gives CogVideoX's 4k + 1 rule). Normalisation is GroupNorm over each
frame on its own; normalising over all frames, as a plain 3D GroupNorm does, would let later frames
change the statistics of earlier ones and break causality.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from einops import rearrange
from torch import nn

from ..nn.causal import CausalConv3d


@dataclass(frozen=True)
class CausalVAEConfig:
    in_channels: int = 3
    channels: tuple[int, ...] = (32, 64, 64)  # width per level; spatial factor 2^(len - 1)
    time_levels: int = 2  # levels that also halve time; temporal factor 2^time_levels
    latent_channels: int = 4
    groups: int = 8

    @classmethod
    def tiny(cls) -> "CausalVAEConfig":
        return cls(channels=(8, 16, 16), latent_channels=2, groups=4)

    def __post_init__(self) -> None:
        if not 0 <= self.time_levels < len(self.channels):
            raise ValueError(f"time_levels must be in [0, {len(self.channels) - 1}], got {self.time_levels}")

    @property
    def time_factor(self) -> int:
        return 2**self.time_levels

    @property
    def space_factor(self) -> int:
        return 2 ** (len(self.channels) - 1)

    def to_dict(self) -> dict:
        return asdict(self)


def check_frames(frames: int, time_factor: int) -> None:
    """Valid clip lengths are 1 + T k (k >= 0): the first frame alone, then groups of T."""
    if frames < 1 or (frames - 1) % time_factor:
        valid = ", ".join(str(1 + time_factor * k) for k in range(5))
        raise ValueError(f"a causal VAE with temporal factor {time_factor} takes 1 + {time_factor}k frames "
                         f"({valid}, ...), got {frames}")


class FrameGroupNorm(nn.GroupNorm):
    """GroupNorm over each frame separately, so no frame's statistics depend on another's."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        f = x.shape[2]
        return rearrange(super().forward(rearrange(x, "b c f h w -> (b f) c h w")), "(b f) c h w -> b c f h w", f=f)


class CausalResBlock(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, groups: int) -> None:
        super().__init__()
        self.norm1 = FrameGroupNorm(groups, in_ch)
        self.conv1 = CausalConv3d(in_ch, out_ch)
        self.norm2 = FrameGroupNorm(groups, out_ch)
        self.conv2 = CausalConv3d(out_ch, out_ch)
        self.skip = nn.Conv3d(in_ch, out_ch, 1) if in_ch != out_ch else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(nn.functional.silu(self.norm1(x)))
        return self.skip(x) + self.conv2(nn.functional.silu(self.norm2(h)))


def compress_time(x: torch.Tensor) -> torch.Tensor:
    """`(b, c, 1 + 2k, h, w)` -> `(b, c, 1 + k, h, w)`: the first frame alone, the others averaged in pairs."""
    first, rest = x[:, :, :1], x[:, :, 1:]
    rest = rearrange(rest, "b c (f two) h w -> b c f two h w", two=2).mean(dim=3)
    return torch.cat([first, rest], dim=2)


def expand_time(x: torch.Tensor) -> torch.Tensor:
    """`(b, c, 1 + k, h, w)` -> `(b, c, 1 + 2k, h, w)`: the first frame alone, every other one twice."""
    first, rest = x[:, :, :1], x[:, :, 1:]
    return torch.cat([first, rest.repeat_interleave(2, dim=2)], dim=2)


class Downsample(nn.Module):
    def __init__(self, channels: int, time: bool) -> None:
        super().__init__()
        self.time = time
        self.conv = nn.Conv2d(channels, channels, 3, stride=2, padding=1)  # per frame

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.time:
            x = compress_time(x)
        f = x.shape[2]
        return rearrange(self.conv(rearrange(x, "b c f h w -> (b f) c h w")), "(b f) c h w -> b c f h w", f=f)


class Upsample(nn.Module):
    def __init__(self, channels: int, time: bool) -> None:
        super().__init__()
        self.time = time
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.time:
            x = expand_time(x)
        f = x.shape[2]
        frames = nn.functional.interpolate(rearrange(x, "b c f h w -> (b f) c h w"), scale_factor=2.0, mode="nearest")
        return rearrange(self.conv(frames), "(b f) c h w -> b c f h w", f=f)


class CausalVAE(nn.Module):
    """`encode`: video `(b, c, 1 + T k, h, w)` -> latent mean and log-variance `(b, z, 1 + k, h/s, w/s)`;
    `decode`: latent -> video. `forward` returns the reconstruction of a sample and the KL term."""

    def __init__(self, config: CausalVAEConfig = CausalVAEConfig()) -> None:
        super().__init__()
        self.config = config
        chs, g = config.channels, config.groups
        levels = len(chs)
        self.encoder_in = CausalConv3d(config.in_channels, chs[0])
        self.encoder_blocks = nn.ModuleList()
        self.downsamplers = nn.ModuleList()
        width = chs[0]
        for level, ch in enumerate(chs):
            self.encoder_blocks.append(CausalResBlock(width, ch, g))
            width = ch
            if level < levels - 1:
                self.downsamplers.append(Downsample(width, time=level < config.time_levels))
        self.encoder_out = nn.Sequential(FrameGroupNorm(g, width), nn.SiLU(), CausalConv3d(width, 2 * config.latent_channels))

        self.decoder_in = CausalConv3d(config.latent_channels, width)
        self.decoder_blocks = nn.ModuleList()
        self.upsamplers = nn.ModuleList()
        for level, ch in reversed(list(enumerate(chs))):
            self.decoder_blocks.append(CausalResBlock(width, ch, g))
            width = ch
            if level > 0:  # mirror of the encoder: the deepest levels expand space only
                self.upsamplers.append(Upsample(width, time=level - 1 < config.time_levels))
        self.decoder_out = nn.Sequential(FrameGroupNorm(g, width), nn.SiLU(), CausalConv3d(width, config.in_channels))

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if x.dim() != 5:
            raise ValueError(f"expected videos (b, c, f, h, w), got shape {tuple(x.shape)}")
        check_frames(x.shape[2], self.config.time_factor)
        s = self.config.space_factor
        if x.shape[-1] % s or x.shape[-2] % s:
            raise ValueError(f"height and width must be multiples of {s}, got {tuple(x.shape[-2:])}")
        h = self.encoder_in(x)
        for level, block in enumerate(self.encoder_blocks):
            h = block(h)
            if level < len(self.downsamplers):
                h = self.downsamplers[level](h)
        mean, logvar = self.encoder_out(h).chunk(2, dim=1)
        return mean, logvar.clamp(-30.0, 20.0)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        if z.dim() != 5 or z.shape[1] != self.config.latent_channels:
            raise ValueError(f"expected latents (b, {self.config.latent_channels}, f, h, w), got {tuple(z.shape)}")
        h = self.decoder_in(z)
        for level, block in enumerate(self.decoder_blocks):
            h = block(h)
            if level < len(self.upsamplers):
                h = self.upsamplers[level](h)
        return self.decoder_out(h)

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Reconstruction `(b, c, f, h, w)` and KL divergence to N(0, I) per sample `(b,)`."""
        mean, logvar = self.encode(x)
        noise = torch.randn(mean.shape, generator=generator, device=mean.device if generator is None else generator.device)
        z = mean + (0.5 * logvar).exp() * noise.to(mean.device)
        kl = 0.5 * (mean.square() + logvar.exp() - 1 - logvar).flatten(1).sum(dim=1)
        return self.decode(z), kl
