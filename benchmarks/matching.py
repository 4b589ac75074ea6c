"""Shared by the benchmarks: time a training step, and size a diffusers model to our parameter count."""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Iterable
from typing import Any

import torch


def time_forward_backward(step: Callable[[], None], repeats: int) -> float:
    """Median seconds of `step()` over `repeats` runs, after one warm-up run."""
    step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def closest_in_size(target: int, build: Callable[[Any], torch.nn.Module], settings: Iterable[Any]) -> tuple[torch.nn.Module, Any]:
    """The model, among `build(s)` for each setting, whose parameter count is nearest `target`."""
    best = None
    for setting in settings:
        model = build(setting)
        gap = abs(parameters(model) - target)
        if best is None or gap < best[0]:
            best = (gap, model, setting)
    if best is None:
        raise ValueError("no setting to try")
    return best[1], best[2]


def arguments(doc: str) -> tuple[argparse.Namespace, torch.device]:
    """The benchmarks' command line (--batch, --repeats, --device), seeded; (args, device)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    torch.manual_seed(0)
    return args, torch.device(args.device)
