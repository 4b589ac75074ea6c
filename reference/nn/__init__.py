"""Building blocks shared by the book's models."""

from .embeddings import TimestepEmbedding, sinusoidal_embedding
from .text import PooledCaptionEncoder, drop_captions

__all__ = ["TimestepEmbedding", "sinusoidal_embedding", "PooledCaptionEncoder", "drop_captions"]
