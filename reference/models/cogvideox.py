"""CogVideoX, small: caption tokens and video patches in one sequence, expert adaptive LayerNorm (chapter 8).

Yang et al. (2024), "CogVideoX: Text-to-Video Diffusion Models with An Expert Transformer",
sec. 2.2, and its code (THUDM/CogVideo `sat/dit_video_concat.py`; diffusers'
`CogVideoXTransformer3DModel`, whose block this one matches weight for weight, tested):

- **One sequence.** The caption's token vectors (T5's in the paper, `CaptionTokenEncoder` here)
  are concatenated in front of the video latent's patches, and every block runs *full 3D
  attention* over all of them: a video token of frame i+1 attends directly to every token of
  frame i and to every word. (Separate spatial and temporal attention, the paper argues, makes
  motion travel through two hops and trains less stably; chapter 8 measures that claim.)
- **Expert adaLN.** Text and video tokens share the LayerNorm and every weight of attention and
  MLP, but each kind gets its own shift, scale and gate from the timestep: one linear layer regresses
  six vectors per norm, three for the video "expert" and three for the text one. Zero-initialised
  here, so a fresh block is the identity (adaLN-Zero, chapter 3). `expert=False` gives both kinds
  one modulation, the ablation the paper compares against.
- **QK-LayerNorm.** Queries and keys are layer-normalised per head before the dot product, which
  keeps attention logits bounded as training goes.
- **3D RoPE** on the video tokens only (text tokens have no place in the clip): the head's channels
  split 2/8 for time, 3/8 for height, 3/8 for width, as CogVideoX-5B does.

`attention=DIVIDED` is the ablation the paper argues against: blocks alternate a spatial attention
(each frame's tokens with the words) and a temporal one (each position through the frames, no
words), the "2D + 1D" design of earlier video models, at the same width, depth and weights.

The training objective (v-prediction on a zero-terminal-SNR schedule) lives in the recipe.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from einops import rearrange, reduce, repeat
from torch import nn

from ..data.vocab import WORDS
from ..nn.attention import Axis, attention
from ..nn.embeddings import TimestepEmbedding
from ..nn.latent import LatentStatistics
from ..nn.patch import PatchEmbed, PatchUnembed
from ..nn.rope import apply_rope, rope_3d_angles
from ..nn.text import CaptionTokenEncoder
from .t2v import AttentionKind


@dataclass(frozen=True)
class CogVideoXConfig:
    in_channels: int = 4
    dim: int = 128
    depth: int = 4
    heads: int = 4
    mlp_ratio: float = 4.0
    patch: int = 1
    time_dim: int = 64  # the timestep vector the modulations read (CogVideoX-2B: 512 beside width 1920)
    expert: bool = True  # separate modulation for text and video tokens (False: one shared, the ablation)
    attention: AttentionKind = AttentionKind.JOINT  # DIVIDED: spatial and temporal blocks alternate (the ablation)
    text_depth: int = 1  # layers of the toy caption encoder
    vocab_size: int = len(WORDS)
    max_words: int = 16

    @classmethod
    def tiny(cls, **changes) -> "CogVideoXConfig":
        return cls(**{"in_channels": 2, "dim": 16, "depth": 2, "heads": 2, "time_dim": 8, **changes})

    @property
    def head_dim(self) -> int:
        return self.dim // self.heads

    def rope_split(self) -> tuple[int, int, int]:
        """Channels per head for (time, height, width): 2/8, 3/8, 3/8, each even (CogVideoX-5B)."""
        d = self.head_dim
        time = 2 * round(d / 8)
        height = 2 * round(3 * d / 16)
        return time, height, d - time - height

    def to_dict(self) -> dict:
        return asdict(self)


class ExpertNormZero(nn.Module):
    """LayerNorm shared by text and video tokens; shift, scale and gate regressed from the timestep,
    one set per expert (or one for both). diffusers: `CogVideoXLayerNormZero`."""

    def __init__(self, cond_dim: int, dim: int, expert: bool = True) -> None:
        super().__init__()
        self.expert = expert
        self.linear = nn.Linear(cond_dim, (6 if expert else 3) * dim)
        self.norm = nn.LayerNorm(dim, eps=1e-5)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, video: torch.Tensor, text: torch.Tensor, cond: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """video `(b, n, d)`, text `(b, m, d)`, cond `(b, cond_dim)` -> both modulated, and both gates."""
        parts = self.linear(nn.functional.silu(cond))[:, None].chunk(6 if self.expert else 3, dim=-1)
        shift, scale, gate = parts[:3]
        text_shift, text_scale, text_gate = parts[3:] if self.expert else parts
        return (self.norm(video) * (1 + scale) + shift, self.norm(text) * (1 + text_scale) + text_shift,
                gate, text_gate)


class JointAttention(nn.Module):
    """Self-attention over [text; video] with per-head QK-LayerNorm and RoPE on the video part."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        head_dim = dim // heads
        self.to_q, self.to_k, self.to_v = (nn.Linear(dim, dim, bias=False) for _ in range(3))
        self.norm_q = nn.LayerNorm(head_dim, eps=1e-6)
        self.norm_k = nn.LayerNorm(head_dim, eps=1e-6)
        self.to_out = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, text_length: int, angles: torch.Tensor | None) -> torch.Tensor:
        """x `(b, m + n, d)`, text first; angles `(n, head_dim / 2)` for the video tokens (or with
        leading dimensions broadcasting over b and the heads), or None."""
        q, k, v = (rearrange(layer(x), "b s (heads d) -> b heads s d", heads=self.heads)
                   for layer in (self.to_q, self.to_k, self.to_v))
        q, k = self.norm_q(q), self.norm_k(k)
        if angles is not None:
            m = text_length
            q = torch.cat([q[:, :, :m], apply_rope(q[:, :, m:], angles)], dim=2)
            k = torch.cat([k[:, :, :m], apply_rope(k[:, :, m:], angles)], dim=2)
        return self.to_out(rearrange(attention(q, k, v), "b heads s d -> b s (heads d)"))


class CogVideoXBlock(nn.Module):
    """Expert-adaLN transformer block: attention and one MLP over text and video tokens together.

    `axis` JOINT: one attention over all words and all video tokens (CogVideoX). SPACE: each frame's
    tokens attend with the words (the words' update is averaged over the frames). TIME: each
    position attends through the frames, without the words."""

    def __init__(self, dim: int, heads: int, cond_dim: int, mlp_ratio: float = 4.0, expert: bool = True,
                 axis: Axis = Axis.JOINT) -> None:
        super().__init__()
        if axis not in (Axis.JOINT, Axis.SPACE, Axis.TIME):
            raise ValueError(f"a CogVideoX block attends along JOINT, SPACE or TIME, not {axis}")
        self.axis = axis
        self.norm1 = ExpertNormZero(cond_dim, dim, expert)
        self.attn = JointAttention(dim, heads)
        self.norm2 = ExpertNormZero(cond_dim, dim, expert)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(approximate="tanh"), nn.Linear(hidden, dim))

    def forward(self, video: torch.Tensor, text: torch.Tensor, cond: torch.Tensor,
                angles: torch.Tensor | None = None, frames: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
        """video `(b, f*h*w, d)`, text `(b, m, d)`, cond `(b, cond_dim)`, angles `(f*h*w, d_head/2)`;
        `frames` (f) is needed by the SPACE and TIME folds."""
        m = text.shape[1]
        normed, normed_text, gate, text_gate = self.norm1(video, text, cond)
        video_update, text_update = self.attend(normed, normed_text, angles, frames)
        video, text = video + gate * video_update, text + text_gate * text_update
        normed, normed_text, gate, text_gate = self.norm2(video, text, cond)
        update = self.mlp(torch.cat([normed_text, normed], dim=1))
        return video + gate * update[:, m:], text + text_gate * update[:, :m]

    def attend(self, video: torch.Tensor, text: torch.Tensor, angles: torch.Tensor | None, f: int
               ) -> tuple[torch.Tensor, torch.Tensor]:
        m = text.shape[1]
        if self.axis is Axis.JOINT:
            update = self.attn(torch.cat([text, video], dim=1), m, angles)
            return update[:, m:], update[:, :m]
        per_frame = None if angles is None else rearrange(angles, "(f n) k -> f n k", f=f)
        if self.axis is Axis.SPACE:  # each frame's tokens keep their own angles (the words have none)
            b = video.shape[0]
            frames = rearrange(video, "b (f n) d -> (b f) n d", f=f)
            words = repeat(text, "b m d -> (b f) m d", f=f)
            own = None if per_frame is None else repeat(per_frame, "f n k -> (b f) 1 n k", b=b)
            update = self.attn(torch.cat([words, frames], dim=1), m, own)
            return (rearrange(update[:, m:], "(b f) n d -> b (f n) d", f=f),
                    reduce(update[:, :m], "(b f) m d -> b m d", "mean", f=f))
        # TIME: every token of a track shares its position's rotation, which cancels in q . k (no words
        # here to break the symmetry), so the angles of position 0 serve every track.
        tracks = rearrange(video, "b (f n) d -> (b n) f d", f=f)
        update = self.attn(tracks, 0, None if per_frame is None else per_frame[:, 0])
        return rearrange(update, "(b n) f d -> b (f n) d", b=video.shape[0]), torch.zeros_like(text)


class CogVideoX(LatentStatistics):
    """Latents `(b, c, f, h, w)`, timesteps `(b,)`, caption ids `(b, m)` -> v prediction `(b, c, f, h, w)`."""

    def __init__(self, config: CogVideoXConfig = CogVideoXConfig()) -> None:
        super().__init__()
        if config.dim % config.heads or config.head_dim % 2:
            raise ValueError(f"width {config.dim} must split into {config.heads} heads of even width")
        self.config = config
        self.caption_encoder = CaptionTokenEncoder(config.vocab_size, config.dim, config.max_words, config.text_depth)
        self.text_proj = nn.Linear(config.dim, config.dim)  # T5's width to the model's, in CogVideoX
        self.patch_embed = PatchEmbed(config.in_channels, config.dim, config.patch)
        self.time_embed = TimestepEmbedding(config.time_dim, frequency_dim=config.dim)
        if config.attention is AttentionKind.DIVIDED and config.depth % 2:
            raise ValueError(f"divided attention alternates spatial and temporal blocks: depth must be even, got {config.depth}")
        axes = [Axis.JOINT] * config.depth if config.attention is AttentionKind.JOINT else \
            [Axis.SPACE if i % 2 == 0 else Axis.TIME for i in range(config.depth)]
        self.blocks = nn.ModuleList(
            CogVideoXBlock(config.dim, config.heads, config.time_dim, config.mlp_ratio, config.expert, axis)
            for axis in axes
        )
        self.norm_final = nn.LayerNorm(config.dim)
        self.final_modulation = nn.Linear(config.time_dim, 2 * config.dim)  # shift, scale (diffusers' AdaLayerNorm)
        self.norm_out = nn.LayerNorm(config.dim, elementwise_affine=False, eps=1e-6)
        self.unembed = PatchUnembed(config.dim, config.in_channels, config.patch)
        nn.init.zeros_(self.unembed.proj.weight)  # the model starts by predicting 0, as the book's DiTs do
        nn.init.zeros_(self.unembed.proj.bias)
        self.register_latent_statistics(config.in_channels)

    def forward(self, x: torch.Tensor, t: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        if x.dim() != 5 or x.shape[1] != self.config.in_channels:
            raise ValueError(f"expected latents (b, {self.config.in_channels}, f, h, w), got {tuple(x.shape)}")
        if t.dim() != 1:
            raise ValueError(f"CogVideoX takes one timestep per clip, (b,); got {tuple(t.shape)}")
        c = self.config
        video, grid = self.patch_embed(x)  # (b, f*h*w, d)
        text = self.text_proj(self.caption_encoder(tokens))  # (b, m, d)
        cond = self.time_embed(t)  # (b, time_dim)
        angles = rope_3d_angles(grid.f, grid.h, grid.w, c.head_dim, c.rope_split()).to(x.device)
        for block in self.blocks:
            video, text = block(video, text, cond, angles, grid.f)
        video = self.norm_final(torch.cat([text, video], dim=1))[:, text.shape[1]:]
        shift, scale = self.final_modulation(nn.functional.silu(cond))[:, None].chunk(2, dim=-1)
        return self.unembed(self.norm_out(video) * (1 + scale) + shift, grid)
