"""Chapter 4's models: Make-A-Video's cascade on the toy world, starting with its toy CLIP."""

from __future__ import annotations

from ..entry import Entry
from ..recipes import clip

CLIP = Entry(
    name="clip-tiny",
    description="a toy CLIP: frame and caption encoders trained contrastively, the book's shared text-image "
                "embedding (chapter 4)",
    recipe=clip.CLIPRecipe(), build=clip.build_model, loss=clip.make_loss, generate=None, evaluate=clip.evaluate,
    headline="object_retrieval",
)

ENTRIES = [CLIP]
