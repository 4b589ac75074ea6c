"""Make-A-Video's prior P: a caption to a CLIP image embedding, by diffusion over vectors (chapter 4).

Ramesh et al. (2022), "Hierarchical Text-Conditional Image Generation with CLIP Latents" (DALL-E 2),
section 2.2: the diffusion prior is a decoder-only transformer with a causal attention mask over a
sequence of, in order, the caption's token encodings, the caption's CLIP text embedding, the
diffusion time, the noised CLIP image embedding and one final learned query; the final query's
output is the *clean* image embedding (the prior predicts z_0 directly, with a mean squared
error, rather than the noise). Captions are dropped at random in training so that sampling can
use classifier-free guidance. Make-A-Video (Singer et al., 2023) takes this prior as it is and
trains it on text-image pairs only: the prior never sees a video.

The toy: the embeddings are chapter 4's `clip-tiny` (unit vectors), the tokens the toy world's
caption words, the transformer a few of the package's pre-norm text layers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from ..data.vocab import PAD_ID, WORDS
from ..nn.embeddings import TimestepEmbedding
from ..nn.text import TextLayer

SPECIAL = 4  # the sequence's last four entries: text embedding, time, noised image embedding, final query


@dataclass(frozen=True)
class PriorConfig:
    embed_dim: int = 64  # the CLIP embedding's size (clip-tiny's)
    dim: int = 128
    depth: int = 4
    heads: int = 4
    vocab_size: int = len(WORDS)
    max_words: int = 16

    @classmethod
    def tiny(cls, **changes) -> PriorConfig:
        return cls(**{"embed_dim": 16, "dim": 16, "depth": 1, "heads": 2, **changes})

    def to_dict(self) -> dict:
        return asdict(self)


def sequence_mask(tokens: torch.Tensor) -> torch.Tensor:
    """The prior's attention mask `(b, n, n)` for caption ids `(b, m)`, n = m + 4, query along dim 1:
    causal (a position sees itself and what comes before it), and padding words are never keys
    (except each to itself, so an all-padding caption, guidance's null prompt, is well defined)."""
    b, m = tokens.shape
    n = m + SPECIAL
    causal = torch.ones(n, n, dtype=torch.bool, device=tokens.device).tril()
    real = torch.cat([tokens != PAD_ID, torch.ones(b, SPECIAL, dtype=torch.bool, device=tokens.device)], dim=1)  # (b, n)
    return (causal & real[:, None, :]) | torch.eye(n, dtype=torch.bool, device=tokens.device)


class DiffusionPrior(nn.Module):
    """`(z_t, t, tokens, text_embedding) -> z_0`: the noised image embedding `(b, e)` at times `t`
    `(b,)`, the caption ids `(b, m)` and its CLIP text embedding `(b, e)` give the predicted clean
    image embedding `(b, e)`."""

    def __init__(self, config: PriorConfig = PriorConfig()) -> None:
        super().__init__()
        self.config = config
        d = config.dim
        self.words = nn.Embedding(config.vocab_size, d)
        self.position = nn.Parameter(torch.randn(1, config.max_words + SPECIAL, d) * 0.02)
        self.text_in = nn.Linear(config.embed_dim, d)
        self.image_in = nn.Linear(config.embed_dim, d)
        self.time = TimestepEmbedding(d)
        self.query = nn.Parameter(torch.randn(1, 1, d) * 0.02)
        self.layers = nn.ModuleList(TextLayer(d, config.heads) for _ in range(config.depth))
        self.norm = nn.LayerNorm(d)
        self.out = nn.Linear(d, config.embed_dim)

    def forward(self, z_t: torch.Tensor, t: torch.Tensor, tokens: torch.Tensor, text_embedding: torch.Tensor) -> torch.Tensor:
        e = self.config.embed_dim
        b = z_t.shape[0]
        if z_t.shape != (b, e) or text_embedding.shape != (b, e):
            raise ValueError(f"expected image and text embeddings (b, {e}), got {tuple(z_t.shape)} and {tuple(text_embedding.shape)}")
        if tokens.dim() != 2 or tokens.shape[0] != b or tokens.shape[1] > self.config.max_words:
            raise ValueError(f"expected caption ids (b={b}, m <= {self.config.max_words}), got {tuple(tokens.shape)}")
        if t.shape != (b,):
            raise ValueError(f"expected one time per embedding, shape ({b},), got {tuple(t.shape)}")
        sequence = torch.cat([
            self.words(tokens),
            self.text_in(text_embedding)[:, None],
            self.time(t)[:, None],
            self.image_in(z_t)[:, None],
            self.query.expand(b, -1, -1),
        ], dim=1)  # (b, m + 4, d)
        m = tokens.shape[1]
        positions = torch.cat([self.position[:, :m], self.position[:, self.config.max_words :]], dim=1)  # specials: fixed slots
        x = sequence + positions
        mask = sequence_mask(tokens)
        for layer in self.layers:
            x = layer(x, mask)
        return self.out(self.norm(x[:, -1]))  # the final query's output
