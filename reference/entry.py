"""One zoo model's entry: how it is built, trained, sampled and measured (chapter 0).

The registry (`reference.registry`, one module per chapter) is a list of these; `reference.zoo`
trains, loads and lists models through them. Entries are plain data, so declaring one imports
only the recipe it names.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset

from .data import ShapesDataset, collate


@dataclass(frozen=True)
class Entry:
    """How one zoo model is built, trained, sampled and measured."""

    name: str
    description: str  # ends by naming the chapter that teaches the model: "... (chapter N)"
    recipe: Any  # a frozen recipe dataclass
    build: Callable[[Any], nn.Module]
    loss: Callable[[Any], Callable]
    generate: Callable[..., torch.Tensor] | None  # (model, recipe, prompts, seed=...) -> (n, c, f, h, w); None: nothing to sample (a classifier or an autoencoder)
    evaluate: Callable[[nn.Module, Any], dict]
    headline: str  # the metric `list` shows
    dataset: Callable[[Any], Dataset] = lambda recipe: ShapesDataset(recipe.data)
    collate: Callable[[list], Any] = collate
    # Runs before training (e.g. loads an image model into the spatial layers); returns what the
    # card records about it, or None.
    initialize: Callable[[nn.Module, Any], dict | None] | None = None
    # A learning-curve point measured on the EMA weights every `recipe.curve_every` steps (the card's
    # `curve`), or None.
    curve: Callable[[nn.Module, Any], dict] | None = None

    @property
    def chapter(self) -> int:
        """The chapter that teaches the model, as its description says ("... chapter N)")."""
        found = re.findall(r"chapter (\d+)\)", self.description)
        if len(found) != 1:
            raise ValueError(f"{self.name}'s description must end by naming its chapter, '(... chapter N)'")
        return int(found[0])


def variant(base: Entry, name: str, recipe: Any, description: str) -> Entry:
    """BASE with another recipe under another name (an ablation row, one change off its model)."""
    return dataclasses.replace(base, name=name, recipe=recipe, description=description)
