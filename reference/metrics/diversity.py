"""How different the samples for one prompt are: the measure that exposes mode collapse (chapter 1).

A generator that has collapsed draws the object in the same place at the same size whatever the
noise. For each clip the first frame's bright pixels (the judge's brightness threshold) give the
object's centre and area; the spread (standard deviation) of centre and area over the samples of one
prompt, averaged over prompts, is the layout diversity. Rendered clips of the same prompts give the
reference: the toy world places and sizes objects at random.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from .judge import JudgeConfig


class Spread(NamedTuple):
    centre: float  # std of the object's centre over samples, as a share of the frame side (mean of y and x)
    area: float  # std of the object's area over samples, as a share of the frame
    empty: float  # share of samples with no bright pixel in the first frame


def layout(videos: torch.Tensor, config: JudgeConfig = JudgeConfig()) -> tuple[torch.Tensor, torch.Tensor]:
    """Centres `(b, 2)` (y, x as shares of the side) and areas `(b,)` (share of the frame) of the
    bright pixels in each clip's first frame; NaN centres where a frame has none."""
    if videos.dim() != 5:
        raise ValueError(f"expected videos (b, c, f, h, w), got {tuple(videos.shape)}")
    first = ((videos[:, :, 0].float().cpu() + 1) / 2).clamp(0, 1)  # (b, c, h, w)
    mask = (first.max(dim=1).values > config.brightness_threshold).float()  # (b, h, w)
    h, w = mask.shape[-2:]
    mass = mask.sum(dim=(1, 2))
    ys = (mask.sum(dim=2) * torch.arange(h)).sum(dim=1) / mass / h
    xs = (mask.sum(dim=1) * torch.arange(w)).sum(dim=1) / mass / w
    return torch.stack([ys, xs], dim=1), mass / (h * w)


def layout_spread(videos: torch.Tensor, prompts: list[str], config: JudgeConfig = JudgeConfig()) -> Spread:
    """Spread of centre and area among the clips of each prompt, averaged over prompts (each prompt
    needs at least two clips)."""
    if len(prompts) != videos.shape[0]:
        raise ValueError(f"got {videos.shape[0]} videos but {len(prompts)} prompts")
    centres, areas = layout(videos, config)
    centre_spread, area_spread = [], []
    for prompt in dict.fromkeys(prompts):
        rows = torch.tensor([i for i, p in enumerate(prompts) if p == prompt])
        if len(rows) < 2:
            raise ValueError(f"prompt {prompt!r} has one clip; a spread needs at least two")
        found = rows[~centres[rows, 0].isnan()]
        if len(found) >= 2:
            centre_spread.append(centres[found].std(dim=0).mean())
        area_spread.append(areas[rows].std())
    centre = torch.stack(centre_spread).mean().item() if centre_spread else 0.0
    return Spread(centre, torch.stack(area_spread).mean().item(), centres[:, 0].isnan().float().mean().item())
