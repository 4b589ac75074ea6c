"""Image-to-video conditioning (chapter 7): how a video denoiser is told the frames it is given.

Two families, as the survey sorts them, each a set of small functions any of the book's denoisers
can be composed with:

- **Channel concatenation.** The noisy input gets extra channels: a mask marking the given frames
  and the given frames themselves (zeros elsewhere). SEINE (Chen et al., 2023, sec. 3.2) feeds
  `[z_t; m; z_0 * m]`, and by drawing the mask at random in training one model learns
  image-to-video, transitions, prediction and interpolation (`MaskKind`). Wan 2.1 (Wan team,
  2025) does the same in its causal VAE's latents, where four pixel frames share one latent
  frame: the pixel mask, with the first frame repeated four times, is regrouped into four mask
  channels per latent frame (`wan_mask_channels`), and the condition is the VAE's encoding of the
  image followed by black frames. `widen_patch_embed` adds the new input channels with zero
  weights, so the widened model starts as exactly its text-to-video base.
- **Attending to the first frame.** ConsistI2V (Ren et al., 2024, sec. 3.2) lets every frame's
  spatial attention take its keys and values from its own frame and from the first
  (`first_frame_spatial_attention`); a full-attention DiT sees the first frame anyway.
- **Noise initialisation.** ConsistI2V (sec. 3.3) starts sampling not from pure noise but from
  FrameInit: the image repeated over the frames, diffused to a high noise level, keeps its low
  spatio-temporal frequencies and takes the rest from fresh noise (`frame_init`, with FreeInit's
  Gaussian low-pass filter, Wu et al., 2023).
- **I2VGen-XL's detail encoder** (Zhang et al., 2023; `DetailEncoder`): the image's latent,
  followed by constant planes that count the frames, through a small per-frame conv stack and a
  temporal transformer layer, concatenated with the noisy input on channels.

Masks use the SEINE paper's convention, 1 (True) = given; SEINE's released code uses the opposite.
Shapes are `(b, c, f, h, w)`; a frame mask is `(b, f)` booleans.
"""

from __future__ import annotations

from enum import Enum

import torch
from einops import rearrange, repeat
from torch import nn

from ..nn.attention import Axis, FoldedSelfAttention, attention, axis_mask
from ..nn.patch import PatchEmbed, token_coordinates


class MaskKind(str, Enum):
    """Which frames of a clip are given (SEINE's tasks)."""

    IMAGE = "image"  # the first frame: image-to-video
    TRANSITION = "transition"  # the first and the last: a transition between two shots
    PREDICTION = "prediction"  # the first k: continue a clip
    INTERPOLATION = "interpolation"  # every k-th from the first: fill in the frames between


def frame_mask(kind: MaskKind, frames: int, k: int = 2) -> torch.Tensor:
    """The `(f,)` boolean mask of the given frames for one task. `k`: how many frames PREDICTION
    gives, and the stride of INTERPOLATION."""
    kind = MaskKind(kind)
    if frames < 2:
        raise ValueError(f"a clip to condition needs at least 2 frames, got {frames}")
    if kind is MaskKind.TRANSITION and frames < 3:
        raise ValueError(f"a transition gives the first and last frames and needs one between: at least 3 frames, got {frames}")
    if kind is MaskKind.PREDICTION and not 1 <= k < frames:
        raise ValueError(f"prediction gives the first k frames, 1 <= k < {frames}; got k={k}")
    if kind is MaskKind.INTERPOLATION and not 2 <= k < frames:
        raise ValueError(f"interpolation gives every k-th frame, 2 <= k < {frames}; got k={k}")
    mask = torch.zeros(frames, dtype=torch.bool)
    if kind is MaskKind.IMAGE:
        mask[0] = True
    elif kind is MaskKind.TRANSITION:
        mask[[0, -1]] = True
    elif kind is MaskKind.PREDICTION:
        mask[:k] = True
    else:
        mask[::k] = True
    return mask


def random_frame_masks(batch: int, frames: int, generator: torch.Generator,
                       kinds: tuple[MaskKind, ...] = tuple(MaskKind)) -> torch.Tensor:
    """`(b, f)` masks for training, each row one task drawn uniformly from `kinds` (k uniform over
    its valid range), so one model learns them all (SEINE)."""
    if not kinds:
        raise ValueError("random_frame_masks needs at least one MaskKind")
    if {MaskKind.INTERPOLATION, MaskKind.TRANSITION} & set(kinds) and frames < 3:
        raise ValueError(f"transition and interpolation need at least 3 frames (one between two given), got {frames}")
    rows = []
    for _ in range(batch):
        kind = kinds[int(torch.randint(len(kinds), (1,), generator=generator))]
        low = 2 if kind is MaskKind.INTERPOLATION else 1
        k = int(torch.randint(low, frames, (1,), generator=generator))
        rows.append(frame_mask(kind, frames, k))
    return torch.stack(rows)


def _frame_channel(mask: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """A `(b, f)` mask as a `(b, 1, f, h, w)` channel in the dtype of `like`."""
    if mask.shape != (like.shape[0], like.shape[2]):
        raise ValueError(f"a frame mask must be (b, f) = {(like.shape[0], like.shape[2])}, got {tuple(mask.shape)}")
    return repeat(mask.to(like.dtype), "b f -> b 1 f h w", h=like.shape[3], w=like.shape[4])


def seine_condition(x0: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """SEINE's extra channels `[m; x0 * m]`: `(b, 1 + c, f, h, w)` for clean clips `x0` and a
    `(b, f)` mask. Frames not given are zeros, so the model cannot see them."""
    m = _frame_channel(mask, x0)
    return torch.cat([m, x0 * m], dim=1)


def seine_input(x_t: torch.Tensor, x0: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The denoiser's whole input `[x_t; m; x0 * m]`, `(b, 2c + 1, f, h, w)`."""
    return torch.cat([x_t, seine_condition(x0, mask)], dim=1)


def wan_mask_channels(pixel_mask: torch.Tensor, height: int, width: int, factor: int = 4) -> torch.Tensor:
    """Wan 2.1's image-to-video mask in latent space: a `(b, F)` mask over F = 1 + factor * (n - 1)
    pixel frames -> `(b, factor, n, h, w)`. The first frame is repeated `factor` times (the causal
    VAE's first latent frame holds one pixel frame, every later one holds `factor`), then every
    `factor` consecutive entries become the channels of one latent frame."""
    frames = pixel_mask.shape[1]
    if (frames - 1) % factor:
        raise ValueError(f"a causal VAE with temporal factor {factor} takes 1 + {factor}k frames, got {frames}")
    m = torch.cat([repeat(pixel_mask[:, :1], "b 1 -> b r", r=factor), pixel_mask[:, 1:]], dim=1).float()
    return repeat(rearrange(m, "b (n r) -> b r n", r=factor), "b r n -> b r n h w", h=height, w=width)


def pixel_frames(latent_mask: torch.Tensor, factor: int = 4) -> torch.Tensor:
    """Which pixel frames a `(b, n)` mask over a causal VAE's latent frames covers: `(b, F)`,
    F = 1 + factor * (n - 1). The first latent frame holds pixel frame 1 alone, each later one the
    next `factor` pixel frames (so the middle latent of 3 is pixel frames 2..5 of 9)."""
    if latent_mask.dim() != 2 or factor < 1:
        raise ValueError(f"expected a (b, n) mask and factor >= 1, got {tuple(latent_mask.shape)} and {factor}")
    return torch.cat([latent_mask[:, :1], repeat(latent_mask[:, 1:], "b n -> b (n r)", r=factor)], dim=1)


def widen_patch_embed(embed: PatchEmbed, extra: int) -> PatchEmbed:
    """A copy of `embed` taking `extra` more input channels, whose weights start at zero: the
    widened model computes exactly what the original did, whatever the new channels hold."""
    if extra < 1:
        raise ValueError(f"extra input channels must be >= 1, got {extra}")
    base = embed.proj
    dim, p_f, p = base.out_features, embed.patch_t, embed.patch
    channels = base.in_features // (p_f * p * p)
    wide = PatchEmbed(channels + extra, dim, p, p_f).to(base.weight.device, base.weight.dtype)
    with torch.no_grad():
        weight = torch.zeros(dim, p_f, p, p, channels + extra, dtype=base.weight.dtype, device=base.weight.device)
        # the patch vector is ordered (pf ph pw c): the channel is the fastest index
        weight[..., :channels] = rearrange(base.weight, "d (pf ph pw c) -> d pf ph pw c", pf=p_f, ph=p, pw=p)
        wide.proj.weight.copy_(rearrange(weight, "d pf ph pw c -> d (pf ph pw c)"))
        wide.proj.bias.copy_(base.bias)
    return wide


def gaussian_low_pass(frames: int, height: int, width: int, cutoff: float = 0.25,
                      cutoff_time: float | None = None) -> torch.Tensor:
    """FreeInit's Gaussian low-pass filter `(f, h, w)`, in the FFT's own (unshifted) order: 1 at the
    zero frequency, exp(-d^2 / (2 cutoff^2)) where d is the normalised frequency distance (each
    axis in [-1, 1), the temporal axis scaled by cutoff / cutoff_time). A cutoff of 0 passes
    nothing. For even sizes this is the original's filter after its fftshift; for odd sizes the
    original's grid sits half a bin off the zero frequency, this one does not."""
    cutoff_time = cutoff if cutoff_time is None else cutoff_time
    if cutoff < 0 or cutoff_time < 0:
        raise ValueError(f"cutoffs must be >= 0, got {cutoff} and {cutoff_time}")
    if cutoff == 0 or cutoff_time == 0:
        return torch.zeros(frames, height, width)
    t, y, x = (2 * torch.fft.fftfreq(n, dtype=torch.float64) for n in (frames, height, width))
    d2 = ((cutoff / cutoff_time) * t)[:, None, None] ** 2 + y[None, :, None] ** 2 + x[None, None, :] ** 2
    return torch.exp(-d2 / (2 * cutoff**2)).float()


def frequency_mix(low_from: torch.Tensor, high_from: torch.Tensor, low_pass: torch.Tensor) -> torch.Tensor:
    """The low frequencies of `low_from` and the high ones of `high_from`, over (f, h, w)."""
    dims = (-3, -2, -1)
    spectrum = torch.fft.fftn(low_from, dim=dims) * low_pass + torch.fft.fftn(high_from, dim=dims) * (1 - low_pass)
    return torch.fft.ifftn(spectrum, dim=dims).real.to(low_from.dtype)


def frame_init(condition: torch.Tensor, frames: int, noise: torch.Tensor, signal: float, sigma: float,
               cutoff: float = 0.25) -> torch.Tensor:
    """ConsistI2V's FrameInit: the starting noise of sampling, `(b, c, f, h, w)`. The condition
    frame `(b, c, h, w)` is repeated into a still clip, diffused to one noise level
    (`signal * clip + sigma * noise`: sqrt(alpha_bar), sqrt(1 - alpha_bar) at tau = 850 of 1000
    in the paper; 1 - t, t for a flow model), and its low frequencies replace those of `noise`.
    The paper's filter: Gaussian, cutoff 0.25 in space and time. Cutoff 0 returns `noise`."""
    if condition.dim() != 4:
        raise ValueError(f"the condition is one frame (b, c, h, w), got shape {tuple(condition.shape)}")
    still = repeat(condition, "b c h w -> b c f h w", f=frames)
    if noise.shape != still.shape:
        raise ValueError(f"noise must be {tuple(still.shape)}, got {tuple(noise.shape)}")
    low_pass = gaussian_low_pass(frames, *condition.shape[-2:], cutoff).to(noise.device)
    return frequency_mix(signal * still + sigma * noise, noise, low_pass)



def first_frame_mask(f: int, h: int, w: int) -> torch.Tensor:
    """`(n, n)` bool mask in (f h w) token order: a query sees its own frame and the first frame."""
    frame = token_coordinates(f, h, w)[:, 0]
    return axis_mask(Axis.SPACE, f, h, w) | (frame == 0)[None, :]


def first_frame_spatial_attention(layer: FoldedSelfAttention, x: torch.Tensor, f: int, h: int, w: int) -> torch.Tensor:
    """ConsistI2V's spatial attention with `layer`'s own weights: the queries of frame i attend to
    the keys and values of frames i and 1 together. Tokens `(b, f*h*w, d)` -> the same shape.
    (Frame 1 sees itself twice, which changes nothing: softmax gives duplicated keys the same total.)"""
    if layer.axis is not Axis.SPACE:
        raise ValueError(f"first-frame attention extends a spatial (SPACE) attention, not {layer.axis}")
    q, k, v = rearrange(layer.qkv(x), "b (f n) (three heads d) -> three b heads f n d", f=f, three=3, heads=layer.heads)
    first = lambda t: repeat(t[:, :, :1], "b heads 1 n d -> b heads f n d", f=f)  # noqa: E731
    attended = attention(q, torch.cat([k, first(k)], dim=3), torch.cat([v, first(v)], dim=3))
    return layer.out(rearrange(attended, "b heads f n d -> b (f n) (heads d)"))


class DetailEncoder(nn.Module):
    """I2VGen-XL's detail path: the first frame's latent `(b, c, h, w)` -> `(b, out_channels, f, h, w)`
    channels to concatenate with the noisy input. Frame 1 carries the latent, frames 2..F constant
    planes (t + 1) / (F - 1) that tell the frames apart; a per-frame conv stack (c -> 4o -> 4o -> o,
    SiLU) and one pre-norm temporal transformer layer over each position's frames follow, as in the
    released code (`local_image_concat`, `local_temporal_encoder`)."""

    def __init__(self, in_channels: int = 4, out_channels: int = 4, heads: int = 2) -> None:
        super().__init__()
        hidden = 4 * out_channels
        self.convs = nn.Sequential(
            nn.Conv2d(in_channels, hidden, 3, padding=1), nn.SiLU(),
            nn.Conv2d(hidden, hidden, 3, padding=1), nn.SiLU(),
            nn.Conv2d(hidden, out_channels, 3, padding=1),
        )
        self.norm1, self.norm2 = nn.LayerNorm(out_channels), nn.LayerNorm(out_channels)
        self.temporal = FoldedSelfAttention(out_channels, heads, Axis.TIME)
        self.mlp = nn.Sequential(nn.Linear(out_channels, out_channels), nn.GELU(), nn.Linear(out_channels, out_channels))

    @staticmethod
    def planes(latent: torch.Tensor, frames: int) -> torch.Tensor:
        """`(b, c, f, h, w)`: the latent, then frames - 1 constant planes (t + 1) / (frames - 1)."""
        if frames < 2:
            raise ValueError(f"the detail encoder makes a clip of at least 2 frames, got {frames}")
        counts = torch.arange(1, frames, dtype=latent.dtype, device=latent.device) / (frames - 1)
        return torch.cat([latent[:, :, None], repeat(counts, "f -> b c f h w", b=latent.shape[0], c=latent.shape[1],
                                                         h=latent.shape[2], w=latent.shape[3])], dim=2)

    def forward(self, latent: torch.Tensor, frames: int) -> torch.Tensor:
        if latent.dim() != 4:
            raise ValueError(f"the detail encoder takes one latent frame (b, c, h, w), got {tuple(latent.shape)}")
        b, _, h, w = latent.shape
        x = self.convs(rearrange(self.planes(latent, frames), "b c f h w -> (b f) c h w"))
        tokens = rearrange(x, "(b f) c h w -> b (f h w) c", b=b)
        tokens = tokens + self.temporal(self.norm1(tokens), frames, h, w)
        tokens = tokens + self.mlp(self.norm2(tokens))
        return rearrange(tokens, "b (f h w) c -> b c f h w", f=frames, h=h)
