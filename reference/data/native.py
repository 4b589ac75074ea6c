"""Clips at their native sizes: mixed aspect ratios and durations, Open-Sora's buckets, NaViT-style
packed batches, and the square crop that Sora's report argues against (chapter 8).

Sora's report says it trains on videos at their native aspect ratios and lengths, and that a model
trained on square crops "sometimes generates videos where the subject is only partially in view".
The toy world renders any size, and its objects never leave the canvas, so the claim can be tested
exactly: `NativeDataset` draws each clip at one of several sizes, whole; with `square=True` it
centre-crops every clip to a square first, cutting off whatever lay outside the square, as a
pipeline that crops to one aspect ratio does. Captions are the same either way.

A batch must hold tensors of one shape, so native sizes need one of two tricks:

- buckets (Open-Sora): every clip goes to the bucket of its shape, every batch comes from one
  bucket, and the batch size of each bucket is set by a token budget, so a batch of small clips
  holds more of them (`BucketBatches`);
- packing (NaViT, `reference.nn.packing`): clips of any shapes in one batch, their tokens packed
  into rows under a block-diagonal attention mask (`PackedBatches` draws the clips).

Each item of `BucketBatches` and `PackedBatches` is a whole batch, so the book's training loop
runs them unchanged with a batch size of 1 and `first` as its collate function.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import torch
from torch.utils.data import Dataset

from .dataset import Batch, Combination, DatasetConfig, Sample, ShapesDataset, collate
from .world import WorldConfig

Shape = tuple[int, int, int]  # (frames, height, width) of a clip
SIZES: tuple[tuple[int, int], ...] = ((32, 32), (24, 40), (40, 24), (16, 48))  # (height, width), about 1000 pixels each
DURATIONS: tuple[int, ...] = (5, 9)


@dataclass(frozen=True)
class NativeConfig:
    """Clips drawn at `sizes` x `durations`, each shape equally often; the rest as `DatasetConfig`."""

    sizes: tuple[tuple[int, int], ...] = SIZES
    durations: tuple[int, ...] = DURATIONS
    world: WorldConfig = WorldConfig(frames=9)  # speeds and object sizes (fractions of the shorter side)
    length: int = 1_000_000
    seed: int = 0
    holdout: tuple[Combination, ...] = ()
    square: bool = False  # centre-crop every clip to a square (the baseline pipeline)

    def __post_init__(self) -> None:
        if not self.sizes or not self.durations:
            raise ValueError("give at least one size and one duration")
        for h, w in self.sizes:
            if h < 4 or w < 4:
                raise ValueError(f"sizes must be at least 4 x 4 pixels, got {h} x {w}")

    @property
    def shapes(self) -> tuple[Shape, ...]:
        """Every (frames, height, width) a clip can be drawn at, before any crop."""
        return tuple((f, h, w) for f in self.durations for h, w in self.sizes)


def centre_crop_square(video: torch.Tensor) -> torch.Tensor:
    """The largest centred square of `(..., h, w)`: what a square-crop pipeline keeps."""
    h, w = video.shape[-2:]
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    return video[..., top : top + s, left : left + s]


def cropped(shape: Shape, square: bool) -> Shape:
    f, h, w = shape
    return (f, min(h, w), min(h, w)) if square else shape


class NativeDataset(Dataset[Sample]):
    """Sample i: a clip drawn at shape `shapes[(seed, i) mod ...]`, whole (or cropped to a square)."""

    def __init__(self, config: NativeConfig = NativeConfig()) -> None:
        self.config = config
        self._datasets = {
            shape: ShapesDataset(DatasetConfig(world=replace(config.world, frames=shape[0], height=shape[1], width=shape[2]),
                                               length=config.length, seed=config.seed, holdout=config.holdout))
            for shape in config.shapes
        }

    def __len__(self) -> int:
        return self.config.length

    def native_shape(self, index: int) -> Shape:
        """The shape sample `index` is rendered at (cheap: nothing is rendered)."""
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for a dataset of {len(self)}")
        shapes = self.config.shapes
        return shapes[random.Random(self.config.seed * 7_919 + index).randrange(len(shapes))]

    def shape(self, index: int) -> Shape:
        """The shape sample `index` comes out at (after the crop, if any)."""
        return cropped(self.native_shape(index), self.config.square)

    def __getitem__(self, index: int) -> Sample:
        sample = self._datasets[self.native_shape(index)][index]
        if self.config.square:
            sample = sample._replace(video=centre_crop_square(sample.video))
        return sample


@dataclass(frozen=True)
class BucketConfig:
    """Open-Sora's buckets, as the toy uses them: one bucket per clip shape, and a batch size per
    bucket so every batch holds about `token_budget` tokens (`tokens_of(shape)` tokens a clip)."""

    token_budget: int
    max_batch: int = 64
    tokens_of: Callable[[Shape], int] = field(default=lambda s: s[0] * s[1] * s[2], compare=False)

    def batch_size(self, shape: Shape) -> int:
        n = self.tokens_of(shape)
        if n > self.token_budget:
            raise ValueError(f"a clip of shape {shape} has {n} tokens, more than the budget of {self.token_budget}")
        return min(self.max_batch, self.token_budget // n)


def bucket_of(shape: Shape, buckets: tuple[Shape, ...]) -> Shape:
    """The bucket a clip goes to: the one of its own shape. The toy's clips come in a few exact
    shapes, so nothing is resized (Open-Sora's rule also resizes a clip to the nearest bucket's
    resolution); a shape without a bucket is an error, not a silent resize."""
    if shape not in buckets:
        raise ValueError(f"no bucket for clips of shape {shape}; the buckets are {sorted(buckets)}")
    return shape


class BucketBatches(Dataset[Batch]):
    """Item i: a whole batch, all of one shape: a bucket drawn in proportion to the clips it holds,
    then that bucket's batch size of its clips."""

    def __init__(self, clips: NativeDataset, buckets: BucketConfig, seed: int = 0) -> None:
        self.clips, self.buckets, self.seed = clips, buckets, seed
        self.shapes = tuple(sorted({cropped(s, clips.config.square) for s in clips.config.shapes}))

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, index: int) -> Batch:
        rng = random.Random(self.seed * 1_000_003 + index)
        shape = bucket_of(self.clips.shape(rng.randrange(len(self.clips))), self.shapes)
        picked: list[int] = []
        while len(picked) < self.buckets.batch_size(shape):  # the bucket's clips, drawn at random
            i = rng.randrange(len(self.clips))
            if bucket_of(self.clips.shape(i), self.shapes) == shape:
                picked.append(i)
        return collate([self.clips[i] for i in picked])


class PackedBatches(Dataset[list[Sample]]):
    """Item i: clips of mixed shapes, drawn in order until their tokens would pass `token_budget`
    (the rows of a packed batch hold them; `reference.nn.packing`)."""

    def __init__(self, clips: NativeDataset, token_budget: int, tokens_of: Callable[[Shape], int], seed: int = 0) -> None:
        self.clips, self.token_budget, self.tokens_of, self.seed = clips, token_budget, tokens_of, seed

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, index: int) -> list[Sample]:
        rng = random.Random(self.seed * 1_000_003 + index)
        picked, total = [], 0
        while True:
            i = rng.randrange(len(self.clips))
            n = self.tokens_of(self.clips.shape(i))
            if total + n > self.token_budget and picked:
                return [self.clips[j] for j in picked]
            picked.append(i)
            total += n


def first(items: list):
    """The collate function of datasets whose items are already batches."""
    if len(items) != 1:
        raise ValueError(f"each item is a whole batch: train with batch_size 1, got {len(items)} items")
    return items[0]
