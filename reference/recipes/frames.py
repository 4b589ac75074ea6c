"""Recipe of `frames-tiny`: caption-conditioned image diffusion on single toy frames (chapter 0).

Everything a zoo model needs in one place: its configs, the training loss, how to sample it,
and how to measure it. The denoiser is `reference.models.UNet2D`; the diffusion core is
`reference.diffusion` (cosine schedule, v-prediction, DDIM with classifier-free guidance).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

import torch
from torch import nn

from ..data import COLOURS, SHAPES, Batch, DatasetConfig, Tokenizer, WorldConfig
from ..diffusion import (
    DDIMSampler,
    DDPMSampler,
    NoiseSchedule,
    Parameterisation,
    ScheduleConfig,
    diffusion_loss,
    guided,
    sample,
)
from ..models.unet2d import UNet2D, UNet2DConfig
from ..nn.text import drop_captions
from ..train import TrainConfig

if TYPE_CHECKING:  # the video recipe reuses this module's loss, sampler and generate
    from .vdm import VDMRecipe


class SamplerKind(str, Enum):
    DDPM = "ddpm"
    DDIM = "ddim"


@dataclass(frozen=True)
class FramesRecipe:
    model: UNet2DConfig = UNet2DConfig(channels=(24, 48, 96))  # the denoiser
    schedule: ScheduleConfig = ScheduleConfig()  # cosine, T = 1000
    parameterisation: Parameterisation = Parameterisation.V  # v-prediction (Salimans & Ho, 2022)
    data: DatasetConfig = DatasetConfig(world=WorldConfig(frames=1, height=32, width=32), length=1_000_000)
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


def make_loss(recipe: "FramesRecipe | VDMRecipe"):
    """The training loss: the diffusion loss on frames, with captions dropped for guidance."""
    schedule = NoiseSchedule(recipe.schedule)

    def loss_fn(model: nn.Module, batch: Batch, generator: torch.Generator) -> torch.Tensor:
        tokens = drop_captions(batch.tokens, recipe.caption_dropout, generator)
        return diffusion_loss(
            lambda x_t, t: model(x_t, t, tokens),
            batch.video,  # (b, c, 1, h, w): frames as one-frame videos
            schedule,
            recipe.parameterisation,
            generator,
        )

    return loss_fn


def make_sampler(recipe: "FramesRecipe | VDMRecipe", kind: SamplerKind | str | None = None, num_steps: int | None = None,
                 eta: float = 0.0, clip_x0: bool = True) -> DDPMSampler | DDIMSampler:
    """The recipe's sampler. `clip_x0` clamps each x0 estimate to [-1, 1]: right for pixels, wrong for
    latents, whose values are not bounded that way (chapter 6 measures what it costs)."""
    kind = SamplerKind(kind or recipe.sampler)
    schedule = NoiseSchedule(recipe.schedule)
    steps = num_steps or recipe.sample_steps
    if kind is SamplerKind.DDPM:
        return DDPMSampler(schedule, steps, recipe.parameterisation, clip_x0=clip_x0)
    return DDIMSampler(schedule, steps, recipe.parameterisation, clip_x0=clip_x0, eta=eta)


@torch.no_grad()
def generate(
    model: nn.Module,
    recipe: "FramesRecipe | VDMRecipe",
    prompts: list[str],
    seed: int = 0,
    sampler: DDPMSampler | DDIMSampler | None = None,
    guidance_scale: float | None = None,
    batch_size: int = 128,
) -> torch.Tensor:
    """A sample for each prompt, `(n, c, f, h, w)` in [-1, 1] (`f` from the recipe's world: 1 for
    frames); deterministic given the seed."""
    tokenizer = Tokenizer()
    sampler = sampler or make_sampler(recipe)
    scale = recipe.guidance_scale if guidance_scale is None else guidance_scale
    device = next(model.parameters()).device
    world = recipe.data.world
    generator = torch.Generator().manual_seed(seed)
    outputs = []
    for start in range(0, len(prompts), batch_size):
        chunk = prompts[start : start + batch_size]
        tokens = tokenizer.encode_batch(chunk).to(device)
        model_fn = guided(model, tokens, torch.zeros_like(tokens), scale)
        shape = (len(chunk), model.config.in_channels, world.frames, world.height, world.width)
        outputs.append(sample(sampler, model_fn, shape, generator=generator, device=device).clamp(-1, 1).cpu())
    return torch.cat(outputs)


def eval_prompts(n: int) -> list[str]:
    """n prompts cycling through every colour x shape, so each pair is measured equally."""
    pairs = list(itertools.product(COLOURS, SHAPES))
    return [f"a {c} {s}" for c, s in itertools.islice(itertools.cycle(pairs), n)]


def evaluate(model: UNet2D, recipe: FramesRecipe) -> dict[str, float]:
    """Caption accuracy by the judge on `eval_samples` generated frames, default sampler and guidance."""
    from ..metrics.judge import caption_accuracy

    prompts = eval_prompts(recipe.eval_samples)
    frames = generate(model, recipe, prompts, seed=recipe.eval_seed)
    scores = caption_accuracy(frames, prompts)
    return {
        "caption_accuracy": scores.all_correct,
        "colour_accuracy": scores.colour,
        "shape_accuracy": scores.shape,
        "eval_samples": len(prompts),
        "sampler": f"{recipe.sampler.value} {recipe.sample_steps} steps, guidance {recipe.guidance_scale}",
    }
