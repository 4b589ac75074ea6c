"""Chapter 1's models: before diffusion, GODIVA's two stages and TGANs-C with its ablation."""

from __future__ import annotations

from ..entry import Entry, variant
from ..recipes import godiva, tganc

VQVAE = Entry(
    name="godiva-vqvae-tiny", description="GODIVA's VQ-VAE: 32x32 frames to 8x8 grids of 128 codes (chapter 1)",
    recipe=godiva.VQVAERecipe(), build=godiva.build_vqvae, loss=godiva.make_vqvae_loss, generate=None,
    evaluate=godiva.evaluate_vqvae, headline="psnr", initialize=godiva.initialize_vqvae,
)
PRIOR = Entry(
    name="godiva-tiny",
    description="GODIVA autoregressive prior, temporal/row/column sparse attention, on godiva-vqvae-tiny's 512 tokens per clip (chapter 1)",
    recipe=godiva.GodivaRecipe(), build=godiva.build_prior, loss=godiva.make_prior_loss, generate=godiva.generate,
    evaluate=godiva.evaluate, headline="caption_accuracy", initialize=godiva.initialize,
)

ENTRIES = [
    VQVAE,
    PRIOR,
    variant(PRIOR, "godiva-ablation-full", godiva.FULL_ATTENTION,
            "godiva-tiny with full causal attention in every layer instead of the sparse cycle (chapter 1)"),
    # TGANs-C and its discriminator ablation: tganc-tiny has all three discriminators.
    *[Entry(name="tganc-tiny" if row == "video-frame-motion" else f"tganc-ablation-{row}",
            description=f"TGANs-C video GAN, discriminators: {row.replace('-', ' + ')} (chapter 1)",
            recipe=tganc.ablation(row), build=tganc.build_model, loss=tganc.make_loss, generate=tganc.generate,
            evaluate=tganc.evaluate, headline="caption_accuracy")
      for row in tganc.ABLATIONS],
]
