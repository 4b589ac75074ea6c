"""VideoVAE's three ways to compress video in space and time (Xing et al., 2024; chapter 5).

At one compression ratio (space / s, time / T, z latent channels) VideoVAE compares:

- `SIMULTANEOUS`: one network compresses space and time together: the image VAE's 2D convolutions
  become (2+1)D (a temporal convolution after each), temporal attention follows each spatial layer,
  and the first encoder levels halve the frames. Trained from scratch on video here
  (`reference.models.vae.VAE` with `time_levels`).
- `SEQUENTIAL`: the image VAE encodes each frame on its own (frozen), then a light temporal
  autoencoder compresses the sequence of frame latents in time; decoding runs the two backwards.
- `COMBINED`: the sequential pipeline with a *temporal-aware* spatial encoder and decoder: the
  image VAE with temporal layers inserted (initialised from it, so it starts as the image VAE),
  fine-tuned on video together with the temporal autoencoder.

VideoVAE reports that the sequential design keeps motion better and spatial detail worse than the
simultaneous one, and that the combined design gets both; chapter 5 measures that on the toy world.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from enum import Enum

import torch
from torch import nn

from .vae import VAE, VAEConfig, kl_divergence, sample_latent


class Design(str, Enum):
    SIMULTANEOUS = "simultaneous"
    SEQUENTIAL = "sequential"
    COMBINED = "combined"


@dataclass(frozen=True)
class VideoVAEConfig:
    design: Design = Design.COMBINED
    frame: VAEConfig = VAEConfig()  # the image VAE: channels, latent width, attention
    time_levels: int = 1  # time is halved this many times: temporal factor 2^time_levels
    temporal_width: int = 64  # width of the light temporal autoencoder (sequential, combined)

    @classmethod
    def tiny(cls, design: Design = Design.COMBINED) -> "VideoVAEConfig":
        return cls(design=design, frame=VAEConfig.tiny(), temporal_width=8)

    @property
    def time_factor(self) -> int:
        return 2**self.time_levels

    def spatial_config(self) -> VAEConfig:
        """The frame-level autoencoder of this design."""
        frame = self.frame.image_config()
        if self.design is Design.SEQUENTIAL:
            return frame
        time_levels = self.time_levels if self.design is Design.SIMULTANEOUS else 0
        return replace(frame, temporal_encoder=True, temporal_decoder=True, time_levels=time_levels)

    def to_dict(self) -> dict:
        return asdict(self)


class TemporalAutoencoder(nn.Module):
    """Compresses a sequence of frame latents `(b, z, f, h, w)` in time by 2^levels, and back.

    Light by design: 3x3x3 convolutions, a stride-2 one in time per level on the way down, frame
    repetition and a convolution per level on the way up. The middle is a KL latent of `z` channels.
    """

    def __init__(self, latent_channels: int, width: int, levels: int) -> None:
        super().__init__()
        self.levels = levels
        conv = lambda i, o, **kw: nn.Conv3d(i, o, 3, padding=1, **kw)  # noqa: E731
        self.encoder = nn.Sequential(
            conv(latent_channels, width), nn.SiLU(),
            *[m for _ in range(levels) for m in (conv(width, width, stride=(2, 1, 1)), nn.SiLU())],
            conv(width, 2 * latent_channels),
        )
        self.decoder_in = nn.Sequential(conv(latent_channels, width), nn.SiLU())
        self.decoder_up = nn.ModuleList(nn.Sequential(conv(width, width), nn.SiLU()) for _ in range(levels))
        self.decoder_out = conv(width, latent_channels)

    def encode(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, logvar = self.encoder(z).chunk(2, dim=1)
        return mean, logvar.clamp(-30.0, 20.0)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        h = self.decoder_in(z)
        for up in self.decoder_up:
            h = up(h.repeat_interleave(2, dim=2))
        return self.decoder_out(h)


class VideoVAE(nn.Module):
    """`encode`: `(b, c, f, h, w)` -> mean, log-variance `(b, z, f/T, h/s, w/s)`; `decode` inverts it;
    `forward` returns the reconstruction of a sampled latent and the KL per sample, as `VAE`."""

    def __init__(self, config: VideoVAEConfig = VideoVAEConfig()) -> None:
        super().__init__()
        self.config = config
        self.spatial = VAE(config.spatial_config())
        self.temporal = (
            None if config.design is Design.SIMULTANEOUS
            else TemporalAutoencoder(config.frame.latent_channels, config.temporal_width, config.time_levels)
        )
        self.pretrained_lr_ratio = 1.0  # set when training starts from an image VAE (`parameter_groups`)
        self._pretrained: set[str] = set()  # names of the parameters loaded from it

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if x.dim() != 5:
            raise ValueError(f"expected videos (b, c, f, h, w), got shape {tuple(x.shape)}")
        if x.shape[2] % self.config.time_factor:
            raise ValueError(f"frames must be a multiple of the temporal factor {self.config.time_factor}, got {x.shape[2]}")
        mean, logvar = self.spatial.encode(x)
        if self.temporal is None:
            return mean, logvar
        return self.temporal.encode(mean)  # the frame latents' means, compressed in time

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        if self.temporal is not None:
            z = self.temporal.decode(z)
        return self.spatial.decode(z)

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        mean, logvar = self.encode(x)
        return self.decode(sample_latent(mean, logvar, generator)), kl_divergence(mean, logvar)

    def load_image_weights(self, image_vae: VAE) -> None:
        """Start from a frame VAE: its weights fill the spatial layers (sequential: and stay frozen)."""
        if self.config.design is Design.SIMULTANEOUS:
            raise ValueError("the simultaneous design is trained from scratch; it has no image VAE to load")
        self.spatial.load_image_weights(image_vae)
        self._pretrained = {f"spatial.{name}" for name in image_vae.state_dict()}
        if self.config.design is Design.SEQUENTIAL:
            self.spatial.requires_grad_(False)

    def load_temporal_weights(self, other: "VideoVAE") -> None:
        """Start the temporal autoencoder from another design's (the combined design continues the
        sequential one's); these weights count as pretrained in `parameter_groups`."""
        if self.temporal is None or other.temporal is None:
            raise ValueError("both models need a temporal autoencoder (not the simultaneous design)")
        self.temporal.load_state_dict(other.temporal.state_dict())
        self._pretrained |= {f"temporal.{name}" for name in other.temporal.state_dict()}

    def parameter_groups(self, lr: float) -> list[dict]:
        """Trainable parameters for the optimiser: those loaded from trained models at
        `lr * pretrained_lr_ratio`, the new ones (zero-initialised temporal layers, a fresh temporal
        autoencoder) at `lr`."""
        named = [(n, p) for n, p in self.named_parameters() if p.requires_grad]
        old = [p for n, p in named if n in self._pretrained]
        new = [p for n, p in named if n not in self._pretrained]
        groups = [{"params": new, "lr": lr}]
        if old:
            groups.append({"params": old, "lr": lr * self.pretrained_lr_ratio})
        return groups
