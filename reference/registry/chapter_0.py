"""Chapter 0's model: the caption-conditioned image diffusion UNet every video model starts from."""

from __future__ import annotations

from typing import Any, Callable

from torch import nn

from ..entry import Entry
from ..recipes import frames
from ..sampling import generate


def captioned_diffusion(name: str, description: str, recipe: Any, build: Callable[[Any], nn.Module],
                        evaluate: Callable[[nn.Module, Any], dict], **more: Any) -> Entry:
    """A caption-conditioned pixel diffusion model: chapter 0's loss and sampler, the judge's headline
    (chapters 0, 2 and 3)."""
    return Entry(name=name, description=description, recipe=recipe, build=build, loss=frames.make_loss,
                 generate=generate, evaluate=evaluate, headline="caption_accuracy", **more)


ENTRIES = [
    captioned_diffusion("frames-tiny", "caption-conditioned image diffusion UNet on 32x32 toy frames (chapter 0)",
                        frames.FramesRecipe(), frames.build_model, frames.evaluate),
]
