"""The networks of Make-A-Video's cascade (Singer et al., 2022): one UNet, four jobs (chapter 4).

Every network of the cascade is the book's image UNet (`reference.models.unet2d`, DDPM's), first
trained on images and then, where the stage works on video, given temporal layers
(`reference.models.vdm`: a temporal convolution and a temporal attention after every spatial
layer, each starting as the identity) that alone are trained on clips. What differs between
stages is only what they are conditioned on:

- the decoder D / D^t: a CLIP image embedding (projected and added to the timestep embedding, as
  DALL-E 2's decoder adds it) and the caption; D^t also the frame skip ("fps" in the paper),
  embedded the same way, and the caption once more through an encoder trained with its temporal
  layers (the image stage's encoder never needed a motion word);
- the interpolation network ↑F: D^t with extra input channels, the clip with its unknown frames
  zeroed and a mask saying which frames are given, concatenated to the noisy input;
- super-resolution SR_l, SR_l^t, SR_h: the low-resolution frames, upsampled to the output size and
  concatenated to the noisy input.

`StageUNet` holds one of these; `inflate` turns an image stage into a video stage with the image
weights in place, `freeze_spatial` leaves only the new layers to train, and `widen_input` adds
condition channels whose weights start at zero, so the widened network computes what it did
before. Each of these "starts as the network it came from" properties is tested.
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass

import torch
from einops import rearrange
from torch import nn

from ..nn.embeddings import sinusoidal_embedding
from ..nn.text import PooledCaptionEncoder
from .unet2d import UNet2D
from .vdm import ConvKind, VDMUNet, VDMUNetConfig


@dataclass(frozen=True)
class StageConfig:
    unet: VDMUNetConfig = VDMUNetConfig(channels=(32, 64), conv=ConvKind.INFLATED, temporal_condition=True)
    temporal: bool = False  # False: an image network applied to each frame alone; True: with temporal layers
    clip_dim: int = 0  # width of the CLIP image embedding it is conditioned on (0: none)
    fps: bool = False  # conditioned on the frame skip (Make-A-Video's fps)
    time_caption: bool = False  # a caption encoder of the video stage's own, trained with its temporal layers

    def __post_init__(self) -> None:
        if self.time_caption and not self.temporal:
            raise ValueError("time_caption belongs to a video stage (temporal=True): it is trained with the temporal layers")

    @classmethod
    def tiny(cls, **changes) -> StageConfig:
        """For tests: runs in milliseconds."""
        unet = VDMUNetConfig.tiny()
        unet = dataclasses.replace(unet, conv=ConvKind.INFLATED, temporal_condition=True, max_frames=17,
                                   **{k: changes.pop(k) for k in ("cond_channels",) if k in changes})
        return cls(unet=unet, **changes)

    def to_dict(self) -> dict:
        return asdict(self)


class StageUNet(nn.Module):
    """A cascade stage: `(b, c, f, h, w)` noisy clip -> v (or eps, x0) prediction of the same shape."""

    def __init__(self, config: StageConfig = StageConfig()) -> None:
        super().__init__()
        self.config = config
        e = config.unet.embed_dim
        self.unet: UNet2D = VDMUNet(config.unet) if config.temporal else UNet2D(config.unet.image_config())
        self.clip_proj = nn.Linear(config.clip_dim, e) if config.clip_dim else None
        if config.fps:
            # Sinusoidal features of log2(skip), then a linear map that starts at zero: an inflated
            # network given this embedding computes what it did without it.
            self.fps_embed = nn.Linear(64, e)
            nn.init.zeros_(self.fps_embed.weight)
            nn.init.zeros_(self.fps_embed.bias)
        else:
            self.fps_embed = None
        if config.time_caption:
            # The image stage's caption encoder learnt from frames, where a motion word changes
            # nothing, and stays frozen; the temporal layers read the caption through an encoder of
            # their own, whose output starts at zero so the inflated network is unchanged.
            self.time_caption = PooledCaptionEncoder(config.unet.vocab_size, e)
            nn.init.zeros_(self.time_caption.mlp[-1].weight)
            nn.init.zeros_(self.time_caption.mlp[-1].bias)
        else:
            self.time_caption = None

    def forward(self, x: torch.Tensor, t: torch.Tensor, tokens: torch.Tensor, clip: torch.Tensor | None = None,
                skip: torch.Tensor | None = None, cond: torch.Tensor | None = None) -> torch.Tensor:
        """x: `(b, c, f, h, w)`; t: `(b,)`; tokens: `(b, n)`; clip: `(b, clip_dim)` (zeros: no
        embedding); skip: `(b,)` frame skip; cond: `(b, cond_channels, f, h, w)`."""
        if x.dim() != 5:
            raise ValueError(f"expected clips (b, c, f, h, w), got shape {tuple(x.shape)}")
        b, _, f, _, _ = x.shape
        extra = torch.zeros(b, self.config.unet.embed_dim, device=x.device, dtype=x.dtype)
        if self.clip_proj is not None:
            if clip is None or clip.shape != (b, self.config.clip_dim):
                raise ValueError(f"this stage needs a CLIP embedding (b, {self.config.clip_dim}), got "
                                 f"{None if clip is None else tuple(clip.shape)}")
            extra = extra + self.clip_proj(clip.to(x.dtype))
        if self.fps_embed is not None:
            if skip is None or skip.shape != (b,):
                raise ValueError(f"this stage needs the frame skip (b,), got {None if skip is None else tuple(skip.shape)}")
            extra = extra + self.fps_embed(sinusoidal_embedding(torch.log2(skip.float()), 64).to(x.dtype))
        if self.time_caption is not None:
            extra = extra + self.time_caption(tokens)
        if self.config.temporal:
            return self.unet(x, t, tokens, extra=extra, cond=cond)
        # An image network: every frame on its own, with its clip's time, caption and embedding.
        frames = rearrange(x, "b c f h w -> (b f) c 1 h w")
        per_frame = rearrange(cond, "b c f h w -> (b f) c 1 h w") if cond is not None else None
        out = self.unet(frames, t.repeat_interleave(f), tokens.repeat_interleave(f, dim=0),
                        extra.repeat_interleave(f, dim=0), per_frame)
        return rearrange(out, "(b f) c 1 h w -> b c f h w", f=f)


def inflate(image_stage: StageUNet, fps: bool | None = None, time_caption: bool = False) -> StageUNet:
    """The video stage of an image stage: the same weights in every spatial layer, temporal layers
    (and, with `fps`, a frame-skip embedding; with `time_caption`, a caption encoder of their own)
    that start as the identity."""
    if image_stage.config.temporal:
        raise ValueError("this stage already has temporal layers")
    fps = image_stage.config.fps if fps is None else fps
    if image_stage.config.fps and not fps:
        raise ValueError("the image stage reads the frame skip; its video stage must too")
    video = StageUNet(dataclasses.replace(image_stage.config, temporal=True, fps=fps, time_caption=time_caption))
    missing, unexpected = video.load_state_dict(image_stage.state_dict(), strict=False)
    new = [k for k in missing if not is_temporal(k)]
    if unexpected or new:
        raise ValueError(f"image weights do not fit the video stage: missing {new}, unexpected {unexpected}")
    return video


def is_temporal(name: str) -> bool:
    """Whether a parameter belongs to what inflation adds (temporal layers, the fps embedding, the
    temporal layers' caption encoder)."""
    return name.startswith(("unet.temporal_", "fps_embed", "time_caption"))


def freeze_spatial(stage: StageUNet) -> list[str]:
    """Leave only the temporal layers trainable (Make-A-Video's recipe for D^t and SR_l^t); the names
    of the parameters that stay trainable."""
    trainable = []
    for name, parameter in stage.named_parameters():
        parameter.requires_grad_(is_temporal(name))
        if is_temporal(name):
            trainable.append(name)
    if not trainable:
        raise ValueError("this stage has no temporal layers to train; inflate it first")
    return trainable


def widen_input(stage: StageUNet, channels: int) -> StageUNet:
    """The stage with `channels` more condition channels, their input weights zero: it computes
    exactly what `stage` did whatever they hold (↑F starts as D^t this way)."""
    config = dataclasses.replace(stage.config, unet=dataclasses.replace(
        stage.config.unet, cond_channels=stage.config.unet.cond_channels + channels))
    wide = StageUNet(config)
    state = dict(stage.state_dict())
    old = state["unet.conv_in.weight"]  # (out, in, 3, 3)
    state["unet.conv_in.weight"] = torch.cat([old, old.new_zeros(old.shape[0], channels, *old.shape[2:])], dim=1)
    wide.load_state_dict(state)
    return wide
