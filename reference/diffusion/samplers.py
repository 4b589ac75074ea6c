"""Ancestral DDPM and deterministic-or-not DDIM sampling, each a pure `step` over exposed timesteps.

DDPM: Ho et al. (2020), eq. 6-7, the posterior q(x_{t-1} | x_t, x_0) with variance beta-tilde.
DDIM: Song, Meng & Ermon (2021), eq. 12; eta = 0 is deterministic, eta = 1 recovers DDPM's
variance. With fewer steps than training, both stride through the training timesteps with
"leading" spacing (t = k * T // n), which is what `diffusers` does by default (tested), or
"trailing" spacing (T - 1 first, as a zero-terminal-SNR schedule needs, chapter 8). Chapter 0.

The sampling loop is a few lines and the chapter writes it out:

    x = randn(shape)
    for t in sampler.timesteps:
        x = sampler.step(model_output(x, t), t, x, noise=randn(shape)).prev_sample
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import torch

from .forward import Parameterisation, to_x0_eps
from .schedule import NoiseSchedule


class StepOutput(NamedTuple):
    prev_sample: torch.Tensor  # x_{t_prev}
    x0: torch.Tensor  # the denoised estimate at this step


class _Sampler:
    """Shared set-up: the strided timesteps and the model-output conversion."""

    def __init__(
        self,
        schedule: NoiseSchedule,
        num_steps: int,
        parameterisation: Parameterisation = Parameterisation.EPSILON,
        clip_x0: bool = True,
        trailing: bool = False,
    ) -> None:
        if not 1 <= num_steps <= schedule.num_steps:
            raise ValueError(f"num_steps must lie in [1, {schedule.num_steps}], got {num_steps}")
        self.schedule = schedule
        self.num_steps = num_steps
        self.parameterisation = parameterisation
        self.clip_x0 = clip_x0  # data lives in [-1, 1], so clamp the x0 estimate there
        self.stride = schedule.num_steps // num_steps
        if trailing:  # T-1, T-1-stride, ...: the first step sees t = T-1 (Lin et al., 2024, sec. 3.3)
            self.timesteps = (torch.arange(num_steps, 0, -1).float() * schedule.num_steps / num_steps).round().long() - 1
        else:  # "leading" spacing: 0, stride, 2 stride, ... then reversed (high noise first)
            self.timesteps = (torch.arange(num_steps) * self.stride).flip(0)

    def previous(self, t: int) -> int:
        return t - self.stride

    def _predict(self, model_output: torch.Tensor, t: int, x_t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        tt = torch.full((x_t.shape[0],), t, dtype=torch.long)
        x0, eps = to_x0_eps(self.parameterisation, self.schedule, model_output, x_t, tt)
        if self.clip_x0:
            x0 = x0.clamp(-1, 1)
        return x0, eps


class DDPMSampler(_Sampler):
    """Ancestral sampling from the posterior q(x_{t-1} | x_t, x_0-estimate)."""

    def step(
        self, model_output: torch.Tensor, t: int, x_t: torch.Tensor, noise: torch.Tensor | None = None
    ) -> StepOutput:
        t = int(t)
        x0, _ = self._predict(model_output, t, x_t)
        a_t = self.schedule.alpha_bar(t).item()
        a_prev = self.schedule.alpha_bar(max(self.previous(t), -1)).item()
        beta = 1 - a_t / a_prev  # the effective beta of one (possibly strided) step
        # Posterior mean (DDPM eq. 7): a blend of the x0 estimate and the current sample.
        mean = (a_prev**0.5 * beta / (1 - a_t)) * x0 + ((1 - beta) ** 0.5 * (1 - a_prev) / (1 - a_t)) * x_t
        if t == 0 or self.previous(t) < 0:
            return StepOutput(mean, x0)
        if noise is None:
            raise ValueError("DDPM adds noise at every step but the last; pass `noise` shaped like x_t")
        variance = max((1 - a_prev) / (1 - a_t) * beta, 1e-20)  # beta-tilde, "fixed small"
        return StepOutput(mean + variance**0.5 * noise, x0)


class DDIMSampler(_Sampler):
    """DDIM: x_prev = sqrt(a_prev) x0 + sqrt(1 - a_prev - sigma^2) eps + sigma z."""

    def __init__(
        self,
        schedule: NoiseSchedule,
        num_steps: int,
        parameterisation: Parameterisation = Parameterisation.EPSILON,
        clip_x0: bool = True,
        eta: float = 0.0,
        trailing: bool = False,
    ) -> None:
        super().__init__(schedule, num_steps, parameterisation, clip_x0, trailing)
        if eta < 0:
            raise ValueError(f"eta must be >= 0, got {eta}")
        self.eta = eta

    def step(
        self, model_output: torch.Tensor, t: int, x_t: torch.Tensor, noise: torch.Tensor | None = None
    ) -> StepOutput:
        t = int(t)
        x0, eps = self._predict(model_output, t, x_t)
        a_t = self.schedule.alpha_bar(t).item()
        a_prev = self.schedule.alpha_bar(max(self.previous(t), -1)).item()
        sigma = self.eta * ((1 - a_prev) / (1 - a_t) * (1 - a_t / a_prev)) ** 0.5  # eq. 16
        prev = a_prev**0.5 * x0 + (1 - a_prev - sigma**2) ** 0.5 * eps
        if sigma > 0:
            if noise is None:
                raise ValueError("DDIM with eta > 0 adds noise; pass `noise` shaped like x_t")
            prev = prev + sigma * noise
        return StepOutput(prev, x0)


Sampler = DDPMSampler | DDIMSampler
ModelFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (x_t, t as (b,)) -> model output


@torch.no_grad()
def sample(
    sampler: Sampler,
    model_fn: ModelFn,
    shape: tuple[int, ...],
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
    noise: torch.Tensor | None = None,
) -> torch.Tensor:
    """Run the reverse process from pure noise; noise is drawn on the CPU so seeds agree across devices.
    `noise`: the starting x_T to use instead of a fresh draw (e.g. correlated across frames, chapter 6)."""
    if noise is not None and tuple(noise.shape) != tuple(shape):
        raise ValueError(f"starting noise of shape {tuple(noise.shape)}, expected {tuple(shape)}")
    x = (torch.randn(shape, generator=generator) if noise is None else noise).to(device)
    for t in sampler.timesteps.tolist():
        tt = torch.full((shape[0],), t, dtype=torch.long, device=device)
        noise = torch.randn(shape, generator=generator).to(device)
        x = sampler.step(model_fn(x, tt), t, x, noise=noise).prev_sample
    return x
