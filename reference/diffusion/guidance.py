"""Classifier-free guidance (Ho & Salimans, 2022): one network, trained with the condition
dropped some of the time, is run with and without it and the two outputs are extrapolated:

    out = out(x_t, null) + s * (out(x_t, c) - out(x_t, null))

s = 1 is the plain conditional model; s > 1 trades diversity for fidelity to the prompt. Works
for any parameterisation, since it is linear in the output. Chapter 0.
"""

from __future__ import annotations

from typing import Callable

import torch

ConditionalModel = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]  # (x_t, t, cond)


def guided(
    model: ConditionalModel, cond: torch.Tensor, null_cond: torch.Tensor, scale: float
) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """A `(x_t, t) -> output` function that applies guidance with one batched forward pass."""
    if cond.shape != null_cond.shape:
        raise ValueError(f"cond {tuple(cond.shape)} and null_cond {tuple(null_cond.shape)} must match")

    def model_fn(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        if scale == 1.0:  # no guidance: skip the unconditional pass
            return model(x_t, t, cond)
        both = model(torch.cat([x_t, x_t]), torch.cat([t, t]), torch.cat([cond, null_cond]))
        out_cond, out_null = both.chunk(2)
        return out_null + scale * (out_cond - out_null)

    return model_fn
