"""Recipe of `frames-tiny`: caption-conditioned image diffusion on single toy frames (chapter 0).

Everything a zoo model needs in one place: its configs, the training loss, how to sample it,
and how to measure it. The denoiser is `reference.models.UNet2D`; the diffusion core is
`reference.diffusion` (cosine schedule, v-prediction, DDIM with classifier-free guidance).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..data import Batch, DatasetConfig
from ..diffusion import (
    NoiseSchedule,
    Parameterisation,
    ScheduleConfig,
    diffusion_loss,
)
from ..evaluation import IMAGE_DATA, image_prompts
from ..models.unet2d import UNet2D, UNet2DConfig
from ..nn.text import drop_captions
from ..sampling import SamplerKind, describe, generate, noise_prior
from ..train import TrainConfig


@dataclass(frozen=True)
class FramesRecipe:
    model: UNet2DConfig = UNet2DConfig(channels=(24, 48, 96))  # the denoiser
    schedule: ScheduleConfig = ScheduleConfig()  # cosine, T = 1000
    parameterisation: Parameterisation = Parameterisation.V  # v-prediction (Salimans & Ho, 2022)
    data: DatasetConfig = IMAGE_DATA  # single 32 x 32 frames
    train: TrainConfig = TrainConfig(
        steps=4000, batch_size=64, lr=1e-3, warmup_steps=200, decay_start=0.5, min_lr_ratio=0.1, ema_decay=0.998
    )
    caption_dropout: float = 0.1  # share of captions replaced by the null prompt (for guidance)
    sampler: SamplerKind = SamplerKind.DDIM  # default sampler for `sample` and `eval`
    sample_steps: int = 50  # default number of sampling steps
    guidance_scale: float = 1.0  # default guidance scale (measured: larger scales hurt this model, chapter 0)
    eval_samples: int = 256  # frames generated to measure caption accuracy
    eval_seed: int = 1234  # seed of the evaluation noise

    @classmethod
    def tiny(cls) -> "FramesRecipe":
        """For tests: a model that trains in seconds (and learns nothing)."""
        return cls(model=UNet2DConfig.tiny(), train=TrainConfig.tiny(), sample_steps=2, eval_samples=4)


def build_model(recipe: FramesRecipe) -> UNet2D:
    return UNet2D(recipe.model)


def make_loss(recipe: Any):
    """The training loss: the diffusion loss on frames (or clips), with captions dropped for guidance;
    the registry uses it for every caption-conditioned pixel diffusion recipe (chapters 0, 2, 3)."""
    schedule = NoiseSchedule(recipe.schedule)

    def loss_fn(model: nn.Module, batch: Batch, generator: torch.Generator) -> torch.Tensor:
        tokens = drop_captions(batch.tokens, recipe.caption_dropout, generator)
        return diffusion_loss(
            lambda x_t, t: model(x_t, t, tokens),
            batch.video,  # (b, c, 1, h, w): frames as one-frame videos
            schedule,
            recipe.parameterisation,
            generator,
            *noise_prior(recipe),
        )

    return loss_fn


def evaluate(model: UNet2D, recipe: FramesRecipe) -> dict[str, float]:
    """Caption accuracy by the judge on `eval_samples` generated frames, default sampler and guidance."""
    from ..metrics.judge import caption_accuracy

    prompts = image_prompts(recipe.eval_samples)
    frames = generate(model, recipe, prompts, seed=recipe.eval_seed)
    scores = caption_accuracy(frames, prompts)
    return {
        "caption_accuracy": scores.all_correct,
        "colour_accuracy": scores.colour,
        "shape_accuracy": scores.shape,
        "eval_samples": len(prompts),
        "sampler": describe(recipe),
    }
