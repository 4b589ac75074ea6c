"""Datasets of (video, caption tokens) drawn from the toy world, for every recipe in the book.

Sample `i` of a dataset is the scene drawn from seed `(seed, i)`, so a dataset is infinite in
principle, costs no disk, and is identical on every machine. Combinations of attributes can be
held out, so a model can be measured on prompts it never saw together. Chapter 0.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from typing import NamedTuple

import torch
from torch.utils.data import Dataset

from .vocab import Tokenizer
from .world import ObjectSpec, Scene, WorldConfig, random_scene, render

Combination = tuple[str, str, str]  # (colour, shape, motion)


class Sample(NamedTuple):
    video: torch.Tensor  # (c, f, h, w) in [-1, 1]
    tokens: torch.Tensor  # (n,) caption token ids
    caption: str


class Batch(NamedTuple):
    video: torch.Tensor  # (b, c, f, h, w) in [-1, 1]
    tokens: torch.Tensor  # (b, n) caption token ids
    caption: list[str]


@dataclass(frozen=True)
class DatasetConfig:
    world: WorldConfig = WorldConfig()  # what a scene looks like
    length: int = 10_000  # samples per epoch (scenes are drawn, not stored)
    seed: int = 0  # base seed; sample i uses seed * 1_000_003 + i
    holdout: tuple[Combination, ...] = ()  # (colour, shape, motion or "any") never shown


def single_frame(config: WorldConfig) -> WorldConfig:
    """The image version of a world config: one frame, everything else kept."""
    return replace(config, frames=1)


def random_frames(videos: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """One frame `(b, c, h, w)` drawn at random from each clip `(b, c, f, h, w)`: the image data of
    models that learn from frames of videos (MoCoGAN's image critic, the toy CLIP, the prior)."""
    index = torch.randint(0, videos.shape[2], (videos.shape[0],), generator=generator).to(videos.device)
    return videos[torch.arange(videos.shape[0], device=videos.device), :, index]


class ShapesDataset(Dataset[Sample]):
    """Rendered toy videos with their tokenised captions; `world.frames == 1` gives images."""

    def __init__(self, config: DatasetConfig = DatasetConfig(), tokenizer: Tokenizer | None = None) -> None:
        self.config = config
        self.tokenizer = tokenizer or Tokenizer()
        if config.length < 1:
            raise ValueError(f"length must be >= 1, got {config.length}")

    def __len__(self) -> int:
        return self.config.length

    def scene(self, index: int) -> Scene:
        """The scene of sample `index`, redrawn until it avoids every held-out combination."""
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for a dataset of {len(self)}")
        seed = self.config.seed * 1_000_003 + index
        held = set(self.config.holdout)
        rng = random.Random(seed)
        for _ in range(1000):
            scene = random_scene(seed, self.config.world)
            if not any(_is_held_out(o, scene.frames, held) for o in scene.objects):
                return scene
            seed = rng.randrange(2**62)
        raise RuntimeError("the holdout excludes (almost) every combination of this world")

    def __getitem__(self, index: int) -> Sample:
        scene = self.scene(index)
        caption = scene.caption()
        return Sample(render(scene, antialias=self.config.world.antialias), self.tokenizer.encode(caption), caption)


def _is_held_out(obj: ObjectSpec, frames: int, held: set[Combination]) -> bool:
    """True when the object's attributes are held out; motion "any" (or an image) matches all."""
    for colour, shape, motion in held:
        if obj.colour == colour and obj.shape == shape:
            if motion == "any" or frames == 1 or motion == obj.motion.value:
                return True
    return False


def collate(samples: list[Sample]) -> Batch:
    """Stack samples into a batch: videos `(b, c, f, h, w)`, tokens `(b, n)`, captions list."""
    return Batch(
        torch.stack([s.video for s in samples]),
        torch.stack([s.tokens for s in samples]),
        [s.caption for s in samples],
    )
