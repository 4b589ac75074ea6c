"""Building blocks shared by the book's models."""

from .attention import Axis, FoldedSelfAttention, Variant, attention, axis_mask, fold, unfold
from .embeddings import TimestepEmbedding, sinusoidal_embedding
from .text import PooledCaptionEncoder, drop_captions

__all__ = [
    "Axis", "FoldedSelfAttention", "Variant", "attention", "axis_mask", "fold", "unfold",
    "TimestepEmbedding", "sinusoidal_embedding", "PooledCaptionEncoder", "drop_captions",
]
