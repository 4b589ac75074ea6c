"""Chapter 4's models: Make-A-Video's cascade on the toy world, starting with its toy CLIP."""

from __future__ import annotations

from ..entry import Entry
from ..recipes import clip, prior

CLIP = Entry(
    name="clip-tiny",
    description="a toy CLIP: frame and caption encoders trained contrastively, the book's shared text-image "
                "embedding (chapter 4)",
    recipe=clip.CLIPRecipe(), build=clip.build_model, loss=clip.make_loss, generate=None, evaluate=clip.evaluate,
    headline="object_retrieval",
)

PRIOR = Entry(
    name="prior-tiny",
    description="Make-A-Video's prior P (DALL-E 2's diffusion prior): a caption to a clip-tiny image embedding, "
                "trained on frames and their captions only (chapter 4)",
    recipe=prior.PriorRecipe(), build=prior.build_model, loss=prior.make_loss, generate=None, evaluate=prior.evaluate,
    headline="prior_object_retrieval",
)

ENTRIES = [CLIP, PRIOR]
