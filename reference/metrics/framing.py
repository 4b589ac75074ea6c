"""Framing: is the object whole and in view? Sora's claim about square crops, measured (chapter 8).

Sora's report says a model trained on square crops sometimes shows its subject only partly in
view, and one trained at native aspect ratios frames it better. In the toy world every object is
a circle, a square or a triangle, all three with a square bounding box (the triangle's base equals
its height), and a rendered object never leaves the canvas: it bounces off the walls. So a frame
whose object touches the frame's edge with a bounding box far from square shows a *cut* object,
and a frame where the object's visible area falls below half its largest shows one *leaving*.
Both are read from pixels, so they apply to rendered and generated clips alike.
"""

from __future__ import annotations

from typing import NamedTuple

import torch


class Framing(NamedTuple):
    cut: float  # share of clips whose object is cut by the frame's edge in some frame
    leaves: float  # share of clips whose object loses more than half its area in some frame (or is never seen)
    n: int


def _object_masks(videos: torch.Tensor, threshold: float) -> torch.Tensor:
    """`(b, f, h, w)` bool: the pixels of the object (brightest channel above `threshold` in [0, 1])."""
    return ((videos.float() + 1) / 2).amax(dim=1) > threshold


def cut_frames(videos: torch.Tensor, threshold: float = 0.5, squareness: float = 0.75) -> torch.Tensor:
    """`(b, f)` bool: the frames whose object touches an edge of the frame and has a bounding box
    whose shorter side is less than `squareness` of its longer side."""
    if videos.dim() != 5 or videos.shape[1] != 3:
        raise ValueError(f"expected RGB clips (b, 3, f, h, w), got {tuple(videos.shape)}")
    mask = _object_masks(videos, threshold)  # (b, f, h, w)
    rows, cols = mask.any(dim=3), mask.any(dim=2)  # (b, f, h), (b, f, w)

    def extent(lines: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        index = torch.arange(lines.shape[-1])
        first = torch.where(lines, index, lines.shape[-1]).amin(dim=-1)
        last = torch.where(lines, index, -1).amax(dim=-1)
        return first, last, (last - first + 1).clamp(min=0)

    top, bottom, height = extent(rows)
    left, right, width = extent(cols)
    seen = height > 0
    touches = (top == 0) | (left == 0) | (bottom == rows.shape[-1] - 1) | (right == cols.shape[-1] - 1)
    ratio = torch.minimum(height, width).float() / torch.maximum(height, width).clamp(min=1).float()
    return seen & touches & (ratio < squareness)


def framing(videos: torch.Tensor, threshold: float = 0.5, squareness: float = 0.75) -> Framing:
    """Shares of clips `(b, 3, f, h, w)` in [-1, 1] with a cut object, and with one that leaves."""
    cut = cut_frames(videos, threshold, squareness).any(dim=1)
    area = _object_masks(videos, threshold).sum(dim=(2, 3)).float()  # (b, f)
    leaves = (area < 0.5 * area.amax(dim=1, keepdim=True)).any(dim=1) | (area.amax(dim=1) == 0)
    return Framing(cut.float().mean().item(), leaves.float().mean().item(), videos.shape[0])
