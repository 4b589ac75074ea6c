"""A pooled caption encoder: the smallest text conditioning that works on the toy world.

Captions have a closed vocabulary and a fixed grammar, so a bag of learned word vectors,
averaged over the non-padding tokens and passed through an MLP, tells a model everything a
single-object caption says. An all-padding caption is the "null" prompt of classifier-free
guidance (Ho & Salimans, 2022) and gets its own learned vector. Chapter 0.
"""

from __future__ import annotations

import torch
from torch import nn

from ..data.vocab import PAD_ID


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


def drop_captions(tokens: torch.Tensor, probability: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Replace whole captions by padding with the given probability (for guidance training)."""
    device = generator.device if generator is not None else tokens.device
    drop = torch.rand(tokens.shape[0], generator=generator, device=device).to(tokens.device) < probability
    return torch.where(drop[:, None], torch.full_like(tokens, PAD_ID), tokens)
