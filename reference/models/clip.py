"""A toy CLIP: a frame encoder and a caption encoder trained contrastively (chapter 4).

Radford et al. (2021), "Learning Transferable Visual Models From Natural Language Supervision": an
image encoder and a text encoder map into one space of unit vectors, trained so that the cosine
similarity of an image and its caption beats that of every other pairing in the batch (a symmetric
cross-entropy, InfoNCE, over the batch's similarity matrix scaled by a learned temperature).
Make-A-Video builds on it (Singer et al., 2023): its prior maps a caption's CLIP text embedding to
a CLIP image embedding, and its decoder draws frames from that image embedding.

Toy sizes: a four-level convolutional encoder for 32 x 32 frames, the caption token encoder of
chapter 8 mean-pooled over the real words, 64-dimensional embeddings. One departure from CLIP:
the toy world has 18 colour and shape pairs, so a batch holds many pairs whose frames look alike;
CLIP's one-hot targets would call them wrong. `contrastive_loss` takes a matrix of which pairs
match (a frame matches every caption naming its object's colour and shape) and spreads each row's
target over its matches. With unique captions it is CLIP's loss exactly (tested).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn

from ..data.vocab import PAD_ID, WORDS
from ..nn.text import CaptionTokenEncoder


@dataclass(frozen=True)
class CLIPConfig:
    channels: tuple[int, ...] = (32, 64, 128)  # widths after the stem and each stride-2 stage
    embed_dim: int = 64
    text_dim: int = 64
    text_depth: int = 1
    image_size: int = 32
    vocab_size: int = len(WORDS)
    max_words: int = 16
    initial_temperature: float = 0.07  # CLIP's

    @classmethod
    def tiny(cls, **changes) -> "CLIPConfig":
        return cls(**{"channels": (8, 16), "embed_dim": 16, "text_dim": 16, "image_size": 16, **changes})

    def to_dict(self) -> dict:
        return asdict(self)


class FrameEncoder(nn.Module):
    """Frames `(b, 3, h, w)` in [-1, 1] -> unnormalised embeddings `(b, embed_dim)`."""

    def __init__(self, config: CLIPConfig) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(3, config.channels[0], 3, padding=1), nn.GroupNorm(8, config.channels[0]), nn.SiLU()]
        for c_in, c_out in zip(config.channels[:-1], config.channels[1:]):
            layers += [nn.Conv2d(c_in, c_out, 4, stride=2, padding=1), nn.GroupNorm(8, c_out), nn.SiLU(),
                       nn.Conv2d(c_out, c_out, 3, padding=1), nn.GroupNorm(8, c_out), nn.SiLU()]
        self.body = nn.Sequential(*layers)
        self.proj = nn.Linear(config.channels[-1], config.embed_dim)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.proj(self.body(frames).mean(dim=(2, 3)))


class CaptionEncoder(nn.Module):
    """Caption ids `(b, m)` -> unnormalised embeddings `(b, embed_dim)`: token vectors mean-pooled over
    the real words (CLIP takes its end token's vector; the toy's captions have no end token)."""

    def __init__(self, config: CLIPConfig) -> None:
        super().__init__()
        self.tokens = CaptionTokenEncoder(config.vocab_size, config.text_dim, config.max_words, config.text_depth)
        self.proj = nn.Linear(config.text_dim, config.embed_dim)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        if (tokens == PAD_ID).all(dim=1).any():
            raise ValueError("CLIP embeds captions; an all-padding row has no words")
        keep = (tokens != PAD_ID).float()[..., None]  # (b, m, 1)
        pooled = (self.tokens(tokens) * keep).sum(dim=1) / keep.sum(dim=1)
        return self.proj(pooled)


class CLIP(nn.Module):
    """`embed_frames` and `embed_captions` give unit vectors in one space; `logits` their scaled cosines."""

    def __init__(self, config: CLIPConfig = CLIPConfig()) -> None:
        super().__init__()
        self.config = config
        self.frame_encoder = FrameEncoder(config)
        self.caption_encoder = CaptionEncoder(config)
        self.log_scale = nn.Parameter(torch.tensor(math.log(1 / config.initial_temperature)))

    def embed_frames(self, frames: torch.Tensor) -> torch.Tensor:
        if frames.dim() != 4 or frames.shape[1] != 3:
            raise ValueError(f"expected frames (b, 3, h, w), got {tuple(frames.shape)}")
        return nn.functional.normalize(self.frame_encoder(frames), dim=-1)

    def embed_captions(self, tokens: torch.Tensor) -> torch.Tensor:
        return nn.functional.normalize(self.caption_encoder(tokens), dim=-1)

    def scale(self) -> torch.Tensor:
        """exp(log_scale), clipped at 100 as CLIP does so the logits cannot explode."""
        return self.log_scale.clamp(max=math.log(100.0)).exp()

    def forward(self, frames: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """Logits `(b, b)`: frame i against caption j, cosine similarity times the learned scale."""
        return self.scale() * self.embed_frames(frames) @ self.embed_captions(tokens).T


def contrastive_loss(logits: torch.Tensor, matches: torch.Tensor | None = None) -> torch.Tensor:
    """CLIP's symmetric cross-entropy over a `(b, b)` logit matrix, frames along rows and captions
    along columns. `matches` `(b, b)` bool says which pairs are right (default: the diagonal); each
    row's and column's target is spread evenly over its matches."""
    b = logits.shape[0]
    if logits.shape != (b, b):
        raise ValueError(f"logits must be square (b, b), got {tuple(logits.shape)}")
    if matches is None:
        matches = torch.eye(b, dtype=torch.bool, device=logits.device)
    if not matches.diagonal().all():
        raise ValueError("every frame must match its own caption")
    target = matches.float()
    rows = -(target / target.sum(dim=1, keepdim=True) * logits.log_softmax(dim=1)).sum(dim=1).mean()
    columns = -(target / target.sum(dim=0, keepdim=True) * logits.log_softmax(dim=0)).sum(dim=0).mean()
    return (rows + columns) / 2
