"""Chapter 3's models: Latte and its ablations at toy scale (identical budgets per row)."""

from __future__ import annotations

from ..recipes import latte
from .chapter_0 import captioned_diffusion
from .chapter_6 import latent_dit

ENTRIES = [
    latent_dit("latte-tiny", "text-to-video Latte (variant 1: interleaved spatial/temporal DiT blocks, word "
               "cross-attention) in the causal VAE's latents, 9x32x32 (chapter 3)", latte.LATENT, "caption_accuracy"),
    captioned_diffusion("latte-pixel-tiny",
                        "text-to-video Latte (variant 1) on pixels, 4x4 patches, 8x32x32: chapter 3's first latte-tiny (chapter 3)",
                        latte.LatteRecipe(), latte.build_model, latte.evaluate),
    *[captioned_diffusion(f"latte-ablation-{row}", f"Latte ablation row {row!r}, width 64, 4 blocks (chapter 3)",
                          latte.ablation(row), latte.build_model, latte.evaluate)
      for row in latte.ABLATIONS],
]
