"""Recipes of the `timesformer-*` classifiers: TimeSformer's attention comparison at toy scale (chapter 2).

TimeSformer's table 1 trains one ViT per attention scheme on Kinetics-400, where the appearance of
a single frame mostly names the action, and on Something-Something-v2, where only the order of
frames does. The toy world has both kinds of question:

- `Task.SHAPE`: which shape is on screen (3 classes), answerable from any one frame;
- `Task.MOTION`: which way it moves (5 classes), answerable only by comparing frames.

Every variant gets the same model size, data, steps and seed; the card records params, FLOPs per
clip (counted), training time and accuracy on 512 clips drawn from a seed training never used.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import Enum
from typing import NamedTuple

import torch
from torch import nn
from torch.utils.data import Dataset

from ..data import SHAPES, DatasetConfig, ShapesDataset, WorldConfig
from ..data.world import MOTIONS
from ..metrics.cost import count_flops
from ..models.timesformer import VideoViT, VideoViTConfig
from ..nn.attention import Variant
from ..train import TrainConfig


class Task(str, Enum):
    SHAPE = "shape"  # appearance (like Kinetics-400)
    MOTION = "motion"  # temporal order (like Something-Something-v2)


LABELS: dict[Task, tuple[str, ...]] = {Task.SHAPE: SHAPES, Task.MOTION: MOTIONS}
# Training steps per task (the same for every variant): shape is learnt from single frames and
# needs fewer; motion models were still improving at 500 steps, so they get 1500.
TASK_STEPS: dict[Task, int] = {Task.SHAPE: 500, Task.MOTION: 1500}


class LabelledClip(NamedTuple):
    video: torch.Tensor  # (c, f, h, w), or (b, c, f, h, w) once collated
    label: torch.Tensor  # () class index, or (b,)


class LabelledClips(Dataset[LabelledClip]):
    """Toy clips with the class of their (single) object's shape or motion."""

    def __init__(self, data: DatasetConfig, task: Task) -> None:
        if data.world.num_objects != 1:
            raise ValueError(f"classification needs one object per clip, got num_objects={data.world.num_objects}")
        self.clips = ShapesDataset(data)
        self.task = Task(task)

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, index: int) -> LabelledClip:
        sample = self.clips[index]
        obj = self.clips.scene(index).objects[0]
        value = obj.shape if self.task is Task.SHAPE else obj.motion.value
        return LabelledClip(sample.video, torch.tensor(LABELS[self.task].index(value)))


def collate(items: list[LabelledClip]) -> LabelledClip:
    return LabelledClip(torch.stack([i.video for i in items]), torch.stack([i.label for i in items]))


@dataclass(frozen=True)
class ClassifierRecipe:
    task: Task = Task.MOTION
    model: VideoViTConfig = VideoViTConfig(patch=8)  # width 64, 3 blocks, 4 heads; 8 x 4 x 4 tokens
    data: DatasetConfig = DatasetConfig(world=WorldConfig(frames=8, height=32, width=32), length=1_000_000, seed=3)
    train: TrainConfig = TrainConfig(
        steps=1500, batch_size=32, lr=1e-3, warmup_steps=100, decay_start=0.5, min_lr_ratio=0.1, ema_decay=0.99
    )
    eval_seed: int = 4  # dataset seed of the evaluation clips (training uses `data.seed`)
    eval_samples: int = 512

    @classmethod
    def for_variant(cls, variant: Variant, task: Task) -> "ClassifierRecipe":
        """The recipe of one row of the table: every variant of a task gets the same budget."""
        recipe = cls(task=task)
        return dataclasses.replace(
            recipe,
            model=dataclasses.replace(recipe.model, variant=variant, classes=len(LABELS[task])),
            train=dataclasses.replace(recipe.train, steps=TASK_STEPS[task]),
        )

    @classmethod
    def tiny(cls, variant: Variant = Variant.DIVIDED, task: Task = Task.MOTION) -> "ClassifierRecipe":
        return cls(
            task=task,
            model=dataclasses.replace(VideoViTConfig.tiny(variant), classes=len(LABELS[task])),
            data=DatasetConfig(world=WorldConfig(frames=4, height=16, width=16), length=64),
            train=TrainConfig.tiny(),
            eval_samples=8,
        )


def build_model(recipe: ClassifierRecipe) -> VideoViT:
    if recipe.model.classes != len(LABELS[recipe.task]):
        raise ValueError(f"task {recipe.task.value} has {len(LABELS[recipe.task])} classes, model {recipe.model.classes}")
    return VideoViT(recipe.model)


def dataset(recipe: ClassifierRecipe) -> LabelledClips:
    return LabelledClips(recipe.data, recipe.task)


def make_loss(recipe: ClassifierRecipe):
    def loss_fn(model: nn.Module, batch: LabelledClip, generator: torch.Generator) -> torch.Tensor:
        return nn.functional.cross_entropy(model(batch.video), batch.label)

    return loss_fn


def forward_flops(model: VideoViT) -> int:
    """FLOPs of one clip's forward pass, counted by PyTorch's FLOP counter (matmuls and attention)."""
    c = model.config
    clip = torch.zeros(1, c.in_channels, c.frames, c.image_size, c.image_size, device=next(model.parameters()).device)
    return count_flops(lambda: model(clip))


@torch.no_grad()
def confusion(model: VideoViT, recipe: ClassifierRecipe, n: int | None = None) -> torch.Tensor:
    """`(classes, classes)` counts over `n` evaluation clips (seed `eval_seed`): row true, column predicted."""
    n = n or recipe.eval_samples
    clips = LabelledClips(dataclasses.replace(recipe.data, seed=recipe.eval_seed, length=n), recipe.task)
    device = next(model.parameters()).device
    classes = len(LABELS[recipe.task])
    counts = torch.zeros(classes, classes, dtype=torch.long)
    for start in range(0, n, 64):
        batch = collate([clips[i] for i in range(start, min(start + 64, n))])
        predicted = model(batch.video.to(device)).argmax(dim=1).cpu()
        counts += torch.bincount(batch.label * classes + predicted, minlength=classes**2).view(classes, classes)
    return counts


def accuracy(model: VideoViT, recipe: ClassifierRecipe, n: int | None = None) -> float:
    """Share of `n` evaluation clips (seed `eval_seed`) classified right."""
    counts = confusion(model, recipe, n)
    return (counts.diag().sum() / counts.sum()).item()


def evaluate(model: VideoViT, recipe: ClassifierRecipe) -> dict[str, float | int | str]:
    counts = confusion(model, recipe)
    return {
        "accuracy": (counts.diag().sum() / counts.sum()).item(),
        "confusion": counts.tolist(),  # rows: true class, columns: predicted, in `LABELS[task]` order
        "chance": 1 / len(LABELS[recipe.task]),
        "forward_flops_per_clip": forward_flops(model),
        "eval_samples": recipe.eval_samples,
        "task": recipe.task.value,
        "variant": recipe.model.variant.value,
    }
