"""Caption encoders: a pooled vector (chapter 0) and a sequence of word tokens (chapter 8).

Captions have a closed vocabulary and a fixed grammar, so a bag of learned word vectors,
averaged over the non-padding tokens and passed through an MLP, tells a model everything a
single-object caption says. An all-padding caption is the "null" prompt of classifier-free
guidance (Ho & Salimans, 2022) and gets its own learned vector. Chapter 0.

CogVideoX and Wan read a caption as a *sequence* of token vectors from a frozen T5 (Raffel et al.,
2020): CogVideoX puts them in the same attention sequence as the video tokens, Wan attends to them
by cross-attention. `CaptionTokenEncoder` is the toy stand-in: word vectors plus learned positions
through a small bidirectional transformer, trained with the model (the toy's captions need no
pretrained language model). Chapter 8.
"""

from __future__ import annotations

import torch
from einops import rearrange
from torch import nn

from ..data.vocab import PAD_ID
from .attention import attention


class PooledCaptionEncoder(nn.Module):
    """Token ids `(b, n)` -> caption vector `(b, d)`; all-padding rows map to a learned null vector."""

    def __init__(self, vocab_size: int, dim: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, dim, padding_idx=PAD_ID)
        self.null = nn.Parameter(torch.zeros(dim))
        self.mlp = nn.Sequential(nn.Linear(dim, dim), nn.SiLU(), nn.Linear(dim, dim))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        if tokens.dim() != 2:
            raise ValueError(f"tokens must be (b, n) ids, got shape {tuple(tokens.shape)}")
        keep = (tokens != PAD_ID).float()  # (b, n)
        count = keep.sum(dim=1, keepdim=True)  # (b, 1)
        pooled = (self.embed(tokens) * keep[..., None]).sum(dim=1) / count.clamp(min=1)  # (b, d)
        pooled = torch.where(count > 0, pooled, self.null.expand_as(pooled))
        return self.mlp(pooled)


class TextLayer(nn.Module):
    """A pre-norm transformer encoder layer over caption tokens; padding is never attended to."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        """x `(b, m, d)`; keep `(b, m)` bool, the keys every query may look at, or `(b, m, m)`, the
        keys each query may look at (query along dim 1: a causal mask, chapter 4's prior)."""
        q, k, v = rearrange(self.qkv(self.norm1(x)), "b m (three heads d) -> three b heads m d", three=3, heads=self.heads)
        mask = keep[:, None] if keep.dim() == 3 else keep[:, None, None, :]
        x = x + self.out(rearrange(attention(q, k, v, mask=mask), "b heads m d -> b m (heads d)"))
        return x + self.mlp(self.norm2(x))


class CaptionTokenEncoder(nn.Module):
    """Token ids `(b, m)` -> token vectors `(b, m, d)`: embedding + position, `depth` pre-norm
    transformer layers whose keys are the real words only, a final LayerNorm. Padding positions get
    vectors too (CogVideoX attends to T5's padded sequence as it is); an all-padding caption, the
    null prompt of guidance, attends over its padding."""

    def __init__(self, vocab_size: int, dim: int, max_words: int = 16, depth: int = 1, heads: int = 2) -> None:
        super().__init__()
        self.max_words = max_words
        self.embed = nn.Embedding(vocab_size, dim)
        self.position = nn.Parameter(torch.randn(1, max_words, dim) * 0.02)
        self.layers = nn.ModuleList(TextLayer(dim, heads) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        if tokens.dim() != 2 or tokens.shape[1] > self.max_words:
            raise ValueError(f"tokens must be (b, m) ids with m <= {self.max_words}, got shape {tuple(tokens.shape)}")
        x = self.embed(tokens) + self.position[:, : tokens.shape[1]]
        keep = tokens != PAD_ID
        keep = keep | ~keep.any(dim=1, keepdim=True)  # the null caption: its padding attends to itself
        for layer in self.layers:
            x = layer(x, keep)
        return self.norm(x)


def drop_captions(tokens: torch.Tensor, probability: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Replace whole captions by padding with the given probability (for guidance training)."""
    device = generator.device if generator is not None else tokens.device
    drop = torch.rand(tokens.shape[0], generator=generator, device=device).to(tokens.device) < probability
    return torch.where(drop[:, None], torch.full_like(tokens, PAD_ID), tokens)


class CaptionCrossAttention(nn.Module):
    """Video tokens `(b, n, d)` attend to caption words `(b, m, d)` and a learned null word (so an
    all-padding caption still has one key); the output projection starts at zero."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.null = nn.Parameter(torch.zeros(1, 1, dim))
        self.out = nn.Linear(dim, dim)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor, words: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        """keep: `(b, m)` bool, False at padding."""
        b = x.shape[0]
        words = torch.cat([self.null.expand(b, -1, -1).to(words.dtype), words], dim=1)  # (b, 1 + m, d)
        keep = torch.cat([torch.ones(b, 1, dtype=torch.bool, device=keep.device), keep], dim=1)
        q = rearrange(self.q(self.norm(x)), "b n (heads d) -> b heads n d", heads=self.heads)
        k, v = rearrange(self.kv(words), "b m (two heads d) -> two b heads m d", two=2, heads=self.heads)
        mask = keep[:, None, None, :]  # (b, 1, 1, 1 + m): a query may look at every real word
        return self.out(rearrange(attention(q, k, v, mask=mask), "b heads n d -> b n (heads d)"))
