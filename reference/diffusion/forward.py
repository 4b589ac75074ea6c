"""The forward (noising) process and the three ways to parameterise the denoiser's output.

For any tensor rank (images `(b, c, h, w)`, videos `(b, c, f, h, w)`), with a_t = alpha_bar_t:

    x_t = sqrt(a_t) x_0 + sqrt(1 - a_t) eps                         (DDPM eq. 4)
    epsilon-prediction: the network outputs eps                      (Ho et al., 2020)
    x0-prediction:      the network outputs x_0
    v-prediction:       v = sqrt(a_t) eps - sqrt(1 - a_t) x_0        (Salimans & Ho, 2022, sec. 4)

Each parameterisation converts to (x_0, eps) given x_t, which is all a sampler needs. Chapter 0.
"""

from __future__ import annotations

from enum import Enum
from typing import Callable, NamedTuple

import torch

from .noise import NoisePrior, video_noise
from .schedule import NoiseSchedule


class Parameterisation(str, Enum):
    EPSILON = "epsilon"
    X0 = "x0"
    V = "v"


def expand_as(values: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Per-sample values `(b,)` viewed as `(b, 1, ..., 1)` to broadcast against `x` of any rank, or
    per-frame values `(b, f)` viewed as `(b, 1, f, 1, 1)` against videos (one noise level per frame,
    chapter 6)."""
    values = values.to(x.device, x.dtype)
    if values.dim() == 2 and x.dim() == 5:
        return values[:, None, :, None, None]
    return values.reshape(-1, *([1] * (x.dim() - 1)))


def q_sample(schedule: NoiseSchedule, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """Draw x_t ~ q(x_t | x_0) with the given noise; t is `(b,)` integer timesteps."""
    if noise.shape != x0.shape:
        raise ValueError(f"noise shape {tuple(noise.shape)} must equal x0 shape {tuple(x0.shape)}")
    a = expand_as(schedule.alpha_bar(t), x0)
    return a.sqrt() * x0 + (1 - a).sqrt() * noise


def target(
    parameterisation: Parameterisation, schedule: NoiseSchedule, x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor
) -> torch.Tensor:
    """What the network should output for this (x_0, eps, t)."""
    if parameterisation is Parameterisation.EPSILON:
        return noise
    if parameterisation is Parameterisation.X0:
        return x0
    a = expand_as(schedule.alpha_bar(t), x0)
    return a.sqrt() * noise - (1 - a).sqrt() * x0


class Prediction(NamedTuple):
    x0: torch.Tensor  # the denoised estimate
    eps: torch.Tensor  # the noise estimate


def to_x0_eps(
    parameterisation: Parameterisation, schedule: NoiseSchedule, model_output: torch.Tensor, x_t: torch.Tensor,
    t: torch.Tensor,
) -> Prediction:
    """Convert a network output in any parameterisation to (x_0, eps) estimates."""
    a = expand_as(schedule.alpha_bar(t), x_t)
    if parameterisation is Parameterisation.EPSILON:
        eps = model_output
        return Prediction((x_t - (1 - a).sqrt() * eps) / a.sqrt(), eps)
    if parameterisation is Parameterisation.X0:
        x0 = model_output
        return Prediction(x0, (x_t - a.sqrt() * x0) / (1 - a).sqrt())
    v = model_output
    return Prediction(a.sqrt() * x_t - (1 - a).sqrt() * v, a.sqrt() * v + (1 - a).sqrt() * x_t)


Denoiser = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (x_t, t) -> model output


def diffusion_loss(
    denoiser: Denoiser,
    x0: torch.Tensor,
    schedule: NoiseSchedule,
    parameterisation: Parameterisation,
    generator: torch.Generator | None = None,
    prior: NoisePrior = NoisePrior.INDEPENDENT,
    alpha: float = 1.0,
) -> torch.Tensor:
    """The simple loss: mean squared error to the target at a uniformly drawn timestep. `prior`,
    `alpha`: the noise's correlation across the frames of a video (PYoCo, chapter 6); independent
    by default."""
    b = x0.shape[0]
    device = generator.device if generator is not None else x0.device  # draw where the generator lives
    t = torch.randint(0, schedule.num_steps, (b,), generator=generator, device=device).to(x0.device)
    if NoisePrior(prior) is NoisePrior.INDEPENDENT:
        noise = torch.randn(x0.shape, generator=generator, device=device).to(x0.device, x0.dtype)
    else:
        noise = video_noise(tuple(x0.shape), prior, alpha, generator).to(x0.device, x0.dtype)
    x_t = q_sample(schedule, x0, t, noise)
    return torch.nn.functional.mse_loss(denoiser(x_t, t), target(parameterisation, schedule, x0, noise, t))
