"""Building blocks shared by the book's models."""

from .adaln import AdaLNZeroBlock
from .attention import Axis, FoldedSelfAttention, Variant, attention, axis_mask, fold, unfold
from .causal import CausalConv3d
from .conv import Conv2Plus1d, Conv3d, InflatedConv, SpatialConv, TemporalConv, r2plus1d_width
from .embeddings import TimestepEmbedding, sinusoidal_embedding
from .patch import Grid, PatchEmbed, PatchUnembed, patch_grid, patchify, unpatchify
from .rope import apply_rope, rope_3d_angles, rope_angles
from .latent import LatentStatistics
from .text import CaptionTokenEncoder, PooledCaptionEncoder, drop_captions

__all__ = [
    "AdaLNZeroBlock",
    "Axis", "FoldedSelfAttention", "Variant", "attention", "axis_mask", "fold", "unfold",
    "CausalConv3d", "Conv2Plus1d", "Conv3d", "InflatedConv", "SpatialConv", "TemporalConv", "r2plus1d_width",
    "Grid", "PatchEmbed", "PatchUnembed", "patch_grid", "patchify", "unpatchify",
    "apply_rope", "rope_3d_angles", "rope_angles",
    "TimestepEmbedding", "sinusoidal_embedding", "LatentStatistics",
    "CaptionTokenEncoder", "PooledCaptionEncoder", "drop_captions",
]
