"""Noise priors for video: how the noise of one frame relates to the noise of the next (chapter 6).

A video diffusion model usually draws every frame's noise independently. Frames of a real clip are
nearly the same picture, so several papers correlate the noise across frames instead, keeping each
frame's marginal N(0, I) so that the forward process of every frame is unchanged:

- PYoCo's *mixed* noise (Ge et al., 2023, sec. 3.2): a part shared by all frames plus a part of
  each frame's own, eps^i = eps_shared + eps^i_ind with variances alpha^2 / (1 + alpha^2) and
  1 / (1 + alpha^2). Any two frames correlate by alpha^2 / (1 + alpha^2).
- PYoCo's *progressive* noise: an autoregressive chain, eps^0 ~ N(0, I) and
  eps^i = alpha / sqrt(1 + alpha^2) eps^{i-1} + eps^i_ind; frames i and j correlate by
  (alpha / sqrt(1 + alpha^2))^|i - j|.
- VideoFusion's decomposition (Luo et al., 2023, eqs. 4-7): eps^i = sqrt(lambda^i) b + sqrt(1 -
  lambda^i) r^i, a base noise b shared by all frames and a residual r^i per frame. With one lambda
  for every frame it is mixed noise with alpha^2 / (1 + alpha^2) = lambda (tested); the key frame
  gets lambda = 1, its noise is the base noise alone.

All act on `(b, c, f, h, w)` and draw on the CPU generator they are given, so a seed gives the
same noise on every device.
"""

from __future__ import annotations

import math
from enum import Enum

import torch


class NoisePrior(str, Enum):
    INDEPENDENT = "independent"  # every frame its own N(0, I)
    MIXED = "mixed"  # PYoCo: shared + individual
    PROGRESSIVE = "progressive"  # PYoCo: an AR(1) chain over frames


def _check(shape: tuple[int, ...], alpha: float) -> None:
    if len(shape) != 5:
        raise ValueError(f"video noise needs a shape (b, c, f, h, w), got {tuple(shape)}")
    if alpha < 0:
        raise ValueError(f"alpha must be >= 0, got {alpha}")


def mixed_noise(shape: tuple[int, ...], alpha: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """PYoCo's mixed noise: a shared part of variance a^2/(1+a^2) plus an own part of 1/(1+a^2)."""
    _check(shape, alpha)
    b, c, f, h, w = shape
    shared = torch.randn((b, c, 1, h, w), generator=generator) * math.sqrt(alpha**2 / (1 + alpha**2))
    own = torch.randn(shape, generator=generator) * math.sqrt(1 / (1 + alpha**2))
    return shared + own  # broadcast over f


def progressive_noise(shape: tuple[int, ...], alpha: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """PYoCo's progressive noise: each frame's noise is the previous frame's, shrunk, plus fresh noise."""
    _check(shape, alpha)
    own = torch.randn(shape, generator=generator)  # (b, c, f, h, w)
    keep, fresh = alpha / math.sqrt(1 + alpha**2), 1 / math.sqrt(1 + alpha**2)
    frames = [own[:, :, 0]]
    for i in range(1, shape[2]):
        frames.append(keep * frames[-1] + fresh * own[:, :, i])
    return torch.stack(frames, dim=2)


def decomposed_noise(base: torch.Tensor, residual: torch.Tensor, lam: torch.Tensor | float) -> torch.Tensor:
    """VideoFusion's eq. 5: eps^i = sqrt(lambda^i) b + sqrt(1 - lambda^i) r^i.

    base: `(b, c, 1, h, w)` (shared by all frames); residual: `(b, c, f, h, w)`; lam: a number or
    `(f,)` values in [0, 1] (1 for the key frame)."""
    lam = torch.as_tensor(lam, dtype=residual.dtype)
    if ((lam < 0) | (lam > 1)).any():
        raise ValueError(f"lambda must lie in [0, 1], got {lam.tolist()}")
    if base.shape[2] != 1:
        raise ValueError(f"the base noise is one frame shared by all, (b, c, 1, h, w); got {tuple(base.shape)}")
    lam = lam.reshape(1, 1, -1, 1, 1) if lam.dim() == 1 else lam
    return lam.sqrt() * base + (1 - lam).sqrt() * residual


def video_noise(shape: tuple[int, ...], prior: NoisePrior, alpha: float = 1.0,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """Noise of the given prior; each frame's marginal stays N(0, I)."""
    prior = NoisePrior(prior)
    if prior is NoisePrior.MIXED:
        return mixed_noise(shape, alpha, generator)
    if prior is NoisePrior.PROGRESSIVE:
        return progressive_noise(shape, alpha, generator)
    return torch.randn(shape, generator=generator)


def frame_correlation(noise: torch.Tensor) -> torch.Tensor:
    """`(f, f)` correlation of the noise between frames, pooled over batch, channels and pixels."""
    x = noise.transpose(0, 2).flatten(1)  # (f, everything else)
    x = x - x.mean(dim=1, keepdim=True)
    cov = x @ x.T / x.shape[1]
    std = cov.diagonal().sqrt()
    return cov / (std[:, None] * std[None])
