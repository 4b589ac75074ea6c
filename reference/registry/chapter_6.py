"""Chapter 6's models: MoCoGAN, VideoFusion, the motion study and the book's text-to-video model."""

from __future__ import annotations

from ..entry import Entry, variant
from ..recipes import mocogan, motion, videofusion

MOCOGAN = Entry(
    name="mocogan-tiny",
    description="MoCoGAN: content code per clip, GRU motion codes per frame, image + video discriminators, 8x32x32 (chapter 6)",
    recipe=mocogan.MoCoGANRecipe(), build=mocogan.build_model, loss=mocogan.make_loss, generate=mocogan.generate,
    evaluate=mocogan.evaluate, headline="caption_accuracy", curve=mocogan.curve_point,
)
VIDEOFUSION = Entry(
    name="videofusion-tiny",
    description="VideoFusion: base generator (from frames-tiny) + frame-indexed residual generator, 8x32x32 (chapter 6)",
    recipe=videofusion.VideoFusionRecipe(), build=videofusion.build_model, loss=videofusion.make_loss,
    generate=videofusion.generate, evaluate=videofusion.evaluate, headline="caption_accuracy",
    initialize=videofusion.initialize,
)


def latent_dit(name: str, description: str, recipe: motion.MotionRecipe, headline: str) -> Entry:
    """A text-to-video model trained by chapter 6's recipe (`reference.recipes.motion`): the study's rows,
    `t2v-tiny`, chapter 3's `latte-tiny`, chapter 8's models."""
    return Entry(name=name, description=description, recipe=recipe, build=motion.build_model, loss=motion.make_loss,
                 generate=motion.generate, evaluate=motion.evaluate, headline=headline, initialize=motion.initialize,
                 curve=motion.curve_point)


ENTRIES = [
    # The motion study: one DiT per row, one change off the base, the same CPU budget.
    *[latent_dit(f"motion-{row}", f"motion study row {row!r}: {motion.ROWS[row] or 'the base'} (chapter 6)".replace("'", ""),
           motion.row(row), "motion_accuracy")
      for row in motion.ROWS],
    latent_dit("t2v-tiny", "the book's text-to-video DiT: causal-VAE latents, full 3D attention, caption cross-attention (chapter 6)",
         motion.T2V, "caption_accuracy"),
    VIDEOFUSION,
    *[variant(VIDEOFUSION, f"videofusion-lambda-{lam}", videofusion.with_lambda(lam),
              f"videofusion-tiny with lambda {lam} for every frame but the key frame (chapter 6)")
      for lam in videofusion.LAMBDA_ABLATION],
    MOCOGAN,
    variant(MOCOGAN, "mocogan-ablation-image", mocogan.with_route(mocogan.CategoryRoute.IMAGE),
            "mocogan-tiny with the motion word fed to every frame's code, as the official code does (chapter 6)"),
]
