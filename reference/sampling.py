"""Sampling a caption-conditioned diffusion model: the sampler a recipe asks for, and one sample per prompt.

Shared by every recipe whose denoiser takes `(x_t, t, tokens)` and whose samples are the data
itself (pixels, or latents that the recipe decodes): chapter 0's image model, chapter 2's and 3's
video models, chapter 5's latent models. A recipe passes itself; what is read from it is its
schedule, parameterisation, sampler kind and steps, guidance scale and the data's world (the
sample's shape).
"""

from __future__ import annotations

from enum import Enum
from typing import Any

import torch
from torch import nn

from .data import Tokenizer
from .diffusion import DDIMSampler, DDPMSampler, NoiseSchedule, guided, sample
from .diffusion.noise import NoisePrior, video_noise
from .evaluation import judge_generator


def noise_prior(recipe: Any) -> tuple[NoisePrior, float]:
    """The recipe's noise across frames (a video recipe may set `noise` and `noise_alpha`, chapter 6's
    priors); independent for every recipe that does not."""
    return NoisePrior(getattr(recipe, "noise", NoisePrior.INDEPENDENT)), float(getattr(recipe, "noise_alpha", 1.0))


class SamplerKind(str, Enum):
    DDPM = "ddpm"
    DDIM = "ddim"


def make_sampler(recipe: Any, kind: SamplerKind | str | None = None, num_steps: int | None = None,
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
    recipe: Any,
    prompts: list[str],
    seed: int = 0,
    sampler: DDPMSampler | DDIMSampler | None = None,
    guidance_scale: float | None = None,
    batch_size: int = 128,
) -> torch.Tensor:
    """A sample for each prompt, `(n, c, f, h, w)` in [-1, 1] (`f` from the recipe's world: 1 for
    frames); deterministic given the seed. A recipe with a noise prior starts from noise correlated
    across frames (`noise_prior`)."""
    tokenizer = Tokenizer()
    sampler = sampler or make_sampler(recipe)
    scale = recipe.guidance_scale if guidance_scale is None else guidance_scale
    device = next(model.parameters()).device
    world = recipe.data.world
    generator = torch.Generator().manual_seed(seed)
    prior, alpha = noise_prior(recipe)
    outputs = []
    for start in range(0, len(prompts), batch_size):
        chunk = prompts[start : start + batch_size]
        tokens = tokenizer.encode_batch(chunk).to(device)
        model_fn = guided(model, tokens, torch.zeros_like(tokens), scale)
        shape = (len(chunk), model.config.in_channels, world.frames, world.height, world.width)
        start_noise = None if prior is NoisePrior.INDEPENDENT else video_noise(shape, prior, alpha, generator)
        x = sample(sampler, model_fn, shape, generator=generator, device=device, noise=start_noise)
        outputs.append(x.clamp(-1, 1).cpu())
    return torch.cat(outputs)


def describe(recipe: Any) -> str:
    """The recipe's sampler in words, as cards record it ("ddim 25 steps, guidance 1.0")."""
    return f"{SamplerKind(recipe.sampler).value} {recipe.sample_steps} steps, guidance {recipe.guidance_scale}"


def judge_samples(model: nn.Module, recipe: Any, diversity_samples: int = 0) -> dict:
    """The text-to-video card of a caption-conditioned diffusion model sampled by `generate`:
    `reference.evaluation.judge_generator` on its held-out prompts, and the sampler used."""
    _, _, metrics = judge_generator(lambda p, seed: generate(model, recipe, p, seed=seed, batch_size=32), model,
                                    recipe.data, recipe.eval_samples, recipe.eval_seed, diversity_samples)
    return {**metrics, "sampler": describe(recipe)}
