"""Chapter 5's models: the video autoencoders and diffusion in their latents."""

from __future__ import annotations

from ..entry import Entry
from ..recipes import latent, vae, videovae

ENTRIES = [
    Entry(name="vae-causal-tiny", description="CogVideoX-style 3D causal VAE: 9x32x32 clips to 3x8x8x4 latents (chapter 5)",
          recipe=vae.CausalVAERecipe(), build=vae.build_model, loss=vae.make_loss, generate=None,
          evaluate=vae.evaluate, headline="psnr"),
    Entry(name="vae-frame-tiny",
          description="image (frame) KL-VAE: 32x32 frames to 8x8x4 latents, applied frame by frame to video (chapter 5)",
          recipe=videovae.FRAME, build=videovae.build_model, loss=vae.make_loss, generate=None,
          evaluate=videovae.evaluate, headline="psnr"),
    Entry(name="vae-video-decoder-tiny",
          description="MagicVideo-style video decoder: vae-frame-tiny + temporal layers, encoder frozen (chapter 5)",
          recipe=videovae.VIDEO_DECODER, build=videovae.build_model, loss=vae.make_loss, generate=None,
          evaluate=videovae.evaluate, headline="psnr", initialize=videovae.initialize),
    Entry(name="latent-frames-tiny",
          description="caption-conditioned image diffusion UNet on vae-frame-tiny's 8x8x4 frame latents (chapter 5)",
          recipe=latent.LATENT_FRAMES, build=latent.build_model, loss=latent.make_loss, generate=latent.generate,
          evaluate=latent.evaluate, headline="caption_accuracy", initialize=latent.initialize),
    Entry(name="latent-t2v-tiny",
          description="text-to-video diffusion in vae-frame-tiny's latents (8x8x8x4), inflated from latent-frames-tiny (chapter 5)",
          recipe=latent.LatentT2VRecipe(), build=latent.build_model, loss=latent.make_loss, generate=latent.generate,
          evaluate=latent.evaluate, headline="caption_accuracy", initialize=latent.initialize),
    # VideoVAE's three designs at one compression, 8x32x32 clips to 4x8x8x4 latents.
    *[Entry(name=f"videovae-{design.value}-tiny", description=f"VideoVAE {design.value} space-time compression, 24x (chapter 5)",
            recipe=recipe, build=videovae.build_model, loss=vae.make_loss, generate=None,
            evaluate=videovae.evaluate, headline="psnr", initialize=videovae.initialize)
      for design, recipe in videovae.DESIGNS.items()],
]
