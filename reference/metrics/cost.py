"""Counting FLOPs with PyTorch's own counter (chapters 2 and 3).

`torch.utils.flop_counter.FlopCounterMode` counts matrix products and convolutions. The fused
attention kernels of the CPU are invisible to it, so attention runs through PyTorch's reference
("math") kernel while counting, whose matrix products it sees.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode


def count_flops(fn: Callable[[], object]) -> int:
    """FLOPs of running `fn()` once, without gradients."""
    with FlopCounterMode(display=False) as counter, torch.no_grad(), sdpa_kernel(SDPBackend.MATH):
        fn()
    return counter.get_total_flops()
