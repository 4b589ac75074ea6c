"""Noise schedules: the betas of DDPM and the alpha-bar curve they imply.

Linear betas are DDPM's (Ho et al., 2020, section 4); the cosine schedule is Nichol & Dhariwal
(2021, eq. 17), with betas clipped at 0.999 as they do. Both match `diffusers`' "linear" and
"squaredcos_cap_v2" to float32 precision (tested). Chapter 0.

Zero terminal SNR (Lin et al., 2024, "Common diffusion noise schedules and sample steps are
flawed", Algorithm 1): most schedules leave a little signal at t = T, alpha_bar_T > 0, so training
never sees pure noise while sampling starts from it. The fix shifts sqrt(alpha_bar) so its last
value is 0 and rescales it so its first is unchanged; with v-prediction the network can still
predict at t = T (where eps-prediction cannot). CogVideoX trains this way. Chapter 8.

    alpha_t = 1 - beta_t,   alpha_bar_t = prod_{s <= t} alpha_s,
    q(x_t | x_0) = N(sqrt(alpha_bar_t) x_0, (1 - alpha_bar_t) I).

Shifted SNR (Hoogeboom et al., 2023): `snr_shift` s divides every step's SNR by s**2, the
shifted cosine schedule that simple diffusion uses for inputs s times wider than the size the
schedule was tuned at. Chapter 2 uses it for pixel video (see `shift_snr`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

import torch


class ScheduleKind(str, Enum):
    LINEAR = "linear"
    COSINE = "cosine"


@dataclass(frozen=True)
class ScheduleConfig:
    kind: ScheduleKind = ScheduleKind.COSINE  # shape of the noise schedule
    num_steps: int = 1000  # T, the number of training timesteps
    beta_start: float = 1e-4  # linear schedule only: beta_1
    beta_end: float = 0.02  # linear schedule only: beta_T
    max_beta: float = 0.999  # cosine schedule only: clip, so the last step is not pure noise at once
    zero_terminal_snr: bool = False  # rescale so alpha_bar_T = 0 exactly (Lin et al., 2024; CogVideoX)
    snr_shift: float = 1.0  # divide every SNR by snr_shift ** 2 (simple diffusion's shifted schedule; chapter 2)


class NoiseSchedule:
    """Precomputed betas, alphas and alpha-bars for t = 0 .. T-1 (float32, like diffusers)."""

    def __init__(self, config: ScheduleConfig = ScheduleConfig()) -> None:
        if config.num_steps < 1:
            raise ValueError(f"num_steps must be >= 1, got {config.num_steps}")
        self.config = config
        if config.snr_shift <= 0:
            raise ValueError(f"snr_shift must be > 0, got {config.snr_shift}")
        self.betas = _betas(config)  # (T,)
        if config.snr_shift != 1.0:
            self.betas = shift_snr(self.betas, config.snr_shift)
        if config.zero_terminal_snr:
            self.betas = rescale_zero_terminal_snr(self.betas)
        self.alphas = 1.0 - self.betas
        self.alpha_bars = torch.cumprod(self.alphas, dim=0)

    @property
    def num_steps(self) -> int:
        return self.config.num_steps

    def alpha_bar(self, t: torch.Tensor | int) -> torch.Tensor:
        """alpha_bar at integer timesteps; t = -1 means "before the first step" (alpha_bar = 1)."""
        t = torch.as_tensor(t)
        if (t < -1).any() or (t >= self.num_steps).any():
            raise ValueError(f"timesteps must lie in [-1, {self.num_steps - 1}], got {t.tolist()}")
        padded = torch.cat([torch.ones(1), self.alpha_bars])
        return padded[t.long().cpu() + 1]

    def snr(self, t: torch.Tensor | int) -> torch.Tensor:
        """Signal-to-noise ratio alpha_bar / (1 - alpha_bar)."""
        a = self.alpha_bar(t)
        return a / (1 - a)


def shift_snr(betas: torch.Tensor, shift: float) -> torch.Tensor:
    """Betas whose SNR at every step is the given betas' divided by shift**2, i.e. log-SNR moved down
    by 2 log(shift) (Hoogeboom et al., 2023, "simple diffusion", sec. 3.1): the larger the input, the
    more of its structure survives a given noise level, so a schedule tuned at one size spends too
    little training on the noise levels where a larger input's layout is decided."""
    alpha_bars = torch.cumprod(1.0 - betas.double(), dim=0)
    shifted = alpha_bars / (alpha_bars + shift**2 * (1 - alpha_bars))
    alphas = torch.cat([shifted[:1], shifted[1:] / shifted[:-1]])
    return (1.0 - alphas).to(betas.dtype)


def rescale_zero_terminal_snr(betas: torch.Tensor) -> torch.Tensor:
    """Betas whose alpha_bar ends at exactly 0 (Lin et al., 2024, Algorithm 1):
    sqrt(alpha_bar) shifted down by its last value and scaled back up to keep its first value."""
    root = torch.cumprod(1.0 - betas.double(), dim=0).sqrt()
    first, last = root[0].clone(), root[-1].clone()
    root = (root - last) * first / (first - last)
    alpha_bars = root**2
    alphas = torch.cat([alpha_bars[:1], alpha_bars[1:] / alpha_bars[:-1]])
    return (1.0 - alphas).to(betas.dtype)


def _betas(config: ScheduleConfig) -> torch.Tensor:
    T = config.num_steps
    if config.kind is ScheduleKind.LINEAR:
        return torch.linspace(config.beta_start, config.beta_end, T, dtype=torch.float32)
    if config.kind is ScheduleKind.COSINE:

        def alpha_bar_fn(s: float) -> float:  # Nichol & Dhariwal eq. 17, offset 0.008
            return math.cos((s + 0.008) / 1.008 * math.pi / 2) ** 2

        betas = [min(1 - alpha_bar_fn((i + 1) / T) / alpha_bar_fn(i / T), config.max_beta) for i in range(T)]
        return torch.tensor(betas, dtype=torch.float32)
    raise ValueError(f"unknown schedule kind {config.kind!r}; expected one of {[k.value for k in ScheduleKind]}")
