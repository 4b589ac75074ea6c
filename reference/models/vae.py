"""A frame autoencoder and the video autoencoders built from it (chapter 5).

The KL autoencoder of latent diffusion (Rombach et al., 2022; Kingma & Welling, 2014) maps an
image `(b, 3, h, w)` to a small latent `(b, z, h/s, w/s)`: residual blocks with GroupNorm and SiLU,
stride-2 convolutions down, nearest upsampling up, one spatial self-attention at the lowest
resolution. Applied to a video, it works frame by frame (`(b, c, f, h, w)`, frames folded into
the batch), which is the "naive" latent video model: nothing ties one frame's decoding to the next.

The same class grows the video versions that chapter 5 compares, switched on by the config:

- `temporal_decoder`: after every spatial layer of the decoder, a temporal convolution and a
  temporal attention over the frames at each pixel (divided space-time attention, chapter 2's
  layers from `reference.models.vdm`), each a residual that starts at zero. Loaded from the image
  VAE, the model equals it exactly until fine-tuning moves it (tested). This is MagicVideo's video
  decoder (Zhou et al., 2022), fine-tuned with the encoder frozen so the latent space stays the image
  VAE's.
- `temporal_encoder`: the same temporal layers in the encoder: VideoVAE's temporal-aware spatial
  encoder (Xing et al., 2024).
- `time_levels`: the first encoder levels also halve the number of frames (frames averaged in
  pairs after the spatial downsampling; mirrored by frame repetition in the decoder), so space and
  time are compressed together, in one network: VideoVAE's "simultaneous" design, with
  (2+1)D convolutions (spatial conv, then temporal conv) and divided space-time attention.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from einops import rearrange
from torch import nn

from .unet2d import SelfAttention2D
from .vdm import TemporalAttention, TemporalConvBlock, TemporalPosition


@dataclass(frozen=True)
class VAEConfig:
    in_channels: int = 3
    channels: tuple[int, ...] = (16, 32, 64)  # width per level; spatial factor 2^(levels - 1)
    latent_channels: int = 4
    attention_heads: int = 4  # spatial self-attention at the lowest resolution (encoder and decoder)
    groups: int = 8
    temporal_encoder: bool = False  # temporal conv + attention after every encoder layer
    temporal_decoder: bool = False  # ... and every decoder layer (MagicVideo's video decoder)
    time_levels: int = 0  # encoder levels that also halve the frames (needs both temporal flags)
    temporal_heads: int = 4
    max_frames: int = 16  # longest clip the temporal attention's relative position bias covers

    @classmethod
    def tiny(cls) -> "VAEConfig":
        return cls(channels=(8, 16), latent_channels=2, attention_heads=2, groups=4, temporal_heads=2, max_frames=8)

    def __post_init__(self) -> None:
        if not 0 <= self.time_levels < len(self.channels):
            raise ValueError(f"time_levels must be in [0, {len(self.channels) - 1}], got {self.time_levels}")
        if self.time_levels and not (self.temporal_encoder and self.temporal_decoder):
            raise ValueError("compressing time (time_levels > 0) needs temporal layers in encoder and decoder")

    @property
    def space_factor(self) -> int:
        return 2 ** (len(self.channels) - 1)

    @property
    def time_factor(self) -> int:
        return 2**self.time_levels

    def image_config(self) -> "VAEConfig":
        """The frame (image) VAE whose weights fill this model's spatial layers."""
        return VAEConfig(self.in_channels, self.channels, self.latent_channels, self.attention_heads, self.groups,
                         temporal_heads=self.temporal_heads, max_frames=self.max_frames)

    def to_dict(self) -> dict:
        return asdict(self)


class ResBlock(nn.Module):
    """GroupNorm-SiLU-conv twice with a skip, on frames `(n, c, h, w)`."""

    def __init__(self, in_ch: int, out_ch: int, groups: int) -> None:
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, in_ch)
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.norm2 = nn.GroupNorm(groups, out_ch)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1)
        self.skip = nn.Conv2d(in_ch, out_ch, 1) if in_ch != out_ch else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(nn.functional.silu(self.norm1(x)))
        return self.skip(x) + self.conv2(nn.functional.silu(self.norm2(h)))


class TemporalMixer(nn.Module):
    """A temporal convolution, then temporal attention, over the frames at each pixel; both start as 0."""

    def __init__(self, channels: int, config: VAEConfig) -> None:
        super().__init__()
        self.conv = TemporalConvBlock(channels, config.groups)
        self.attention = TemporalAttention(channels, config.temporal_heads, config.groups,
                                           TemporalPosition.RELATIVE, config.max_frames)

    def forward(self, x: torch.Tensor, f: int) -> torch.Tensor:
        """x: `(b f) c h w`."""
        independent = torch.zeros(x.shape[0] // f, dtype=torch.bool, device=x.device)
        return self.attention(self.conv(x, f, independent), f, independent)


def halve_frames(x: torch.Tensor, f: int) -> torch.Tensor:
    """`(b f) c h w` -> `(b f/2) c h w`: consecutive frames averaged in pairs."""
    return rearrange(x, "(b f two) c h w -> (b f) two c h w", f=f // 2, two=2).mean(dim=1)


def double_frames(x: torch.Tensor) -> torch.Tensor:
    """`(b f) c h w` -> `(b 2f) c h w`: every frame twice."""
    return x.repeat_interleave(2, dim=0)


class VAE(nn.Module):
    """`encode`: `(b, c, f, h, w)` (or an image `(b, c, h, w)`) -> latent mean and log-variance;
    `decode`: latent -> video. `forward` returns the reconstruction of a sampled latent and the KL
    divergence to N(0, I) per sample."""

    def __init__(self, config: VAEConfig = VAEConfig()) -> None:
        super().__init__()
        self.config = config
        chs, g = config.channels, config.groups
        levels = len(chs)

        # Encoder: (layer, kind) in order; kinds "block" get a temporal mixer when temporal_encoder.
        self.encoder_in = nn.Conv2d(config.in_channels, chs[0], 3, padding=1)
        enc: list[tuple[nn.Module, str]] = []
        width = chs[0]
        for level, ch in enumerate(chs):
            enc.append((ResBlock(width, ch, g), "block"))
            width = ch
            if level < levels - 1:
                enc.append((nn.Conv2d(width, width, 3, stride=2, padding=1), "down"))
                if level < config.time_levels:
                    enc.append((nn.Identity(), "down_time"))
        if config.attention_heads:
            enc.append((SelfAttention2D(width, config.attention_heads, g), "block"))
        enc.append((ResBlock(width, width, g), "block"))
        self.encoder_layers = nn.ModuleList(layer for layer, _ in enc)
        self.encoder_kinds = [kind for _, kind in enc]
        self.encoder_out = nn.Sequential(nn.GroupNorm(g, width), nn.SiLU(), nn.Conv2d(width, 2 * config.latent_channels, 3, padding=1))

        self.decoder_in = nn.Conv2d(config.latent_channels, width, 3, padding=1)
        dec: list[tuple[nn.Module, str]] = [(ResBlock(width, width, g), "block")]
        if config.attention_heads:
            dec.append((SelfAttention2D(width, config.attention_heads, g), "block"))
        for level, ch in reversed(list(enumerate(chs))):
            dec.append((ResBlock(width, ch, g), "block"))
            width = ch
            if level > 0:
                if level - 1 < config.time_levels:
                    dec.append((nn.Identity(), "up_time"))
                dec.append((nn.Conv2d(width, width, 3, padding=1), "up"))
        self.decoder_layers = nn.ModuleList(layer for layer, _ in dec)
        self.decoder_kinds = [kind for _, kind in dec]
        self.decoder_out = nn.Sequential(nn.GroupNorm(g, width), nn.SiLU(), nn.Conv2d(width, config.in_channels, 3, padding=1))

        # Temporal layers, named temporal_* so an image VAE's weights load into everything else.
        def mixers(layers: nn.ModuleList, kinds: list[str], on: bool) -> nn.ModuleDict:
            return nn.ModuleDict({
                str(i): TemporalMixer(_width(layer), config) for i, (layer, kind) in enumerate(zip(layers, kinds))
                if on and kind == "block"
            })

        self.temporal_encoder = mixers(self.encoder_layers, self.encoder_kinds, config.temporal_encoder)
        self.temporal_decoder = mixers(self.decoder_layers, self.decoder_kinds, config.temporal_decoder)

    # -- running the layers ----------------------------------------------------------------------
    @staticmethod
    def _run(layers: nn.ModuleList, kinds: list[str], mixers: nn.ModuleDict, h: torch.Tensor, f: int) -> tuple[torch.Tensor, int]:
        for i, (layer, kind) in enumerate(zip(layers, kinds)):
            if kind == "down_time":
                h, f = halve_frames(h, f), f // 2
            elif kind == "up_time":
                h, f = double_frames(h), f * 2
            elif kind == "up":
                h = layer(nn.functional.interpolate(h, scale_factor=2.0, mode="nearest"))
            else:
                h = layer(h)
            if str(i) in mixers:
                h = mixers[str(i)](h, f)
        return h, f

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        image = x.dim() == 4
        if image:
            x = rearrange(x, "b c h w -> b c 1 h w")
        if x.dim() != 5 or x.shape[1] != self.config.in_channels:
            raise ValueError(f"expected videos (b, {self.config.in_channels}, f, h, w) or images, got {tuple(x.shape)}")
        b, _, f, height, width = x.shape
        s, t = self.config.space_factor, self.config.time_factor
        if height % s or width % s:
            raise ValueError(f"height and width must be multiples of {s}, got {(height, width)}")
        if f % t:
            raise ValueError(f"this VAE halves time {self.config.time_levels} time(s): frames must be a multiple of {t}, got {f}")
        h = self.encoder_in(rearrange(x, "b c f h w -> (b f) c h w"))
        h, f = self._run(self.encoder_layers, self.encoder_kinds, self.temporal_encoder, h, f)
        mean, logvar = rearrange(self.encoder_out(h), "(b f) c h w -> b c f h w", b=b).chunk(2, dim=1)
        logvar = logvar.clamp(-30.0, 20.0)
        if image:
            return mean[:, :, 0], logvar[:, :, 0]
        return mean, logvar

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        image = z.dim() == 4
        if image:
            z = rearrange(z, "b c h w -> b c 1 h w")
        if z.dim() != 5 or z.shape[1] != self.config.latent_channels:
            raise ValueError(f"expected latents (b, {self.config.latent_channels}, f, h, w), got {tuple(z.shape)}")
        b, _, f = z.shape[:3]
        h = self.decoder_in(rearrange(z, "b c f h w -> (b f) c h w"))
        h, f = self._run(self.decoder_layers, self.decoder_kinds, self.temporal_decoder, h, f)
        out = rearrange(self.decoder_out(h), "(b f) c h w -> b c f h w", b=b)
        return out[:, :, 0] if image else out

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Reconstruction (the shape of `x`) and KL divergence to N(0, I) per sample `(b,)`."""
        mean, logvar = self.encode(x)
        return self.decode(sample_latent(mean, logvar, generator)), kl_divergence(mean, logvar)

    # -- from an image VAE -----------------------------------------------------------------------
    def load_image_weights(self, image_vae: "VAE") -> None:
        """Copy a frame VAE into the spatial layers; the temporal layers keep their zero init."""
        if image_vae.config != self.config.image_config():
            raise ValueError(f"image VAE config {image_vae.config} does not match {self.config.image_config()}")
        missing, unexpected = self.load_state_dict(image_vae.state_dict(), strict=False)
        if unexpected or any(not k.startswith("temporal_") for k in missing):
            raise ValueError(f"image weights do not fit: missing {missing}, unexpected {unexpected}")

    def encoder_parameters(self) -> list[nn.Parameter]:
        names = ("encoder_", "temporal_encoder")
        return [p for n, p in self.named_parameters() if n.startswith(names)]

    def freeze_encoder(self) -> None:
        """Fine-tune the decoder only (MagicVideo): the latent space stays the image VAE's."""
        for p in self.encoder_parameters():
            p.requires_grad_(False)


def _width(layer: nn.Module) -> int:
    if isinstance(layer, ResBlock):
        return layer.conv2.out_channels
    if isinstance(layer, SelfAttention2D):
        return layer.out.out_features
    raise TypeError(f"no temporal mixer after {type(layer).__name__}")


def sample_latent(mean: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """The reparameterisation trick: mean + sigma * noise (noise drawn where the generator lives)."""
    noise = torch.randn(mean.shape, generator=generator, device=mean.device if generator is None else generator.device)
    return mean + (0.5 * logvar).exp() * noise.to(mean.device, mean.dtype)


def kl_divergence(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, exp(logvar)) || N(0, I)) summed per sample, `(b,)`."""
    return 0.5 * (mean.square() + logvar.exp() - 1 - logvar).flatten(1).sum(dim=1)
