"""Rectified flow (flow matching on straight paths), as Stable Diffusion 3 and Wan train (chapters 6, 8).

Data x_0 and noise x_1 ~ N(0, I) are joined by a straight line, x_t = (1 - t) x_0 + t x_1 for t in
[0, 1], and the network learns the velocity along it, v = x_1 - x_0 (Liu et al., 2022; Lipman et
al., 2022). Sampling integrates dx/dt = v from t = 1 (noise) down to t = 0 (data).

Two choices of SD3 (Esser et al., 2024, sec. 3.1 and 5.3.2) are kept: training times drawn from a
logit-normal, t = sigmoid(n), n ~ N(m, s^2), which spends the steps in the middle of the path where
the velocity is hardest to guess; and a *shift* of the sampling times, t' = s t / (1 + (s - 1) t),
which for s > 1 spends more steps at high noise. The network reads the time scaled to [0, 1000]
so the same timestep embedding serves DDPM and flow models.
"""

from __future__ import annotations

from typing import Callable

import torch

from .forward import expand_as

TIME_SCALE = 1000.0  # the network sees t * TIME_SCALE, the range of DDPM's integer timesteps


def interpolate(x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """x_t = (1 - t) x_0 + t x_1 for times `(b,)`, one per sample, or `(b, f)`, one per frame of
    videos `(b, c, f, h, w)` (Diffusion Forcing, chapter 6)."""
    t = expand_as(t, x0)
    return (1 - t) * x0 + t * noise


def velocity(x0: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """The target: dx_t/dt = x_1 - x_0."""
    return noise - x0


def logit_normal(n: int, generator: torch.Generator | None = None, mean: float = 0.0, std: float = 1.0) -> torch.Tensor:
    """`(n,)` times in (0, 1): sigmoid of N(mean, std^2) (SD3's default: mean 0, std 1)."""
    return torch.sigmoid(mean + std * torch.randn(n, generator=generator))


def shift_times(t: torch.Tensor, shift: float) -> torch.Tensor:
    """SD3's time shift t' = s t / (1 + (s - 1) t); s = 1 leaves t unchanged, s > 1 moves t towards 1."""
    if shift <= 0:
        raise ValueError(f"shift must be > 0, got {shift}")
    return shift * t / (1 + (shift - 1) * t)


def sampling_times(num_steps: int, shift: float = 1.0) -> torch.Tensor:
    """`(num_steps + 1,)` times from 1 down to 0, evenly spaced and then shifted."""
    if num_steps < 1:
        raise ValueError(f"num_steps must be >= 1, got {num_steps}")
    return shift_times(torch.linspace(1.0, 0.0, num_steps + 1), shift)


@torch.no_grad()
def euler_sample(model_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], noise: torch.Tensor,
                 num_steps: int, shift: float = 1.0) -> torch.Tensor:
    """Integrate dx/dt = v(x, t) from t = 1 to 0 with Euler steps; model_fn(x, t * TIME_SCALE) -> v."""
    times = sampling_times(num_steps, shift).tolist()
    x = noise
    for t, t_next in zip(times[:-1], times[1:]):
        tt = torch.full((x.shape[0],), t * TIME_SCALE, device=x.device)
        x = x + (t_next - t) * model_fn(x, tt)
    return x
