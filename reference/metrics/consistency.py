"""Content consistency along a clip: MoCoGAN's average content distance, ACD (chapter 6).

Tulyakov et al. (2018) score how well a generated clip keeps its content by describing every frame
with one vector and averaging the distance between all pairs of frames: 0 means the content never
changes. For their coloured shapes the descriptor is the mean colour of the shape; the toy world
is the same case, so here a frame's descriptor is the mean RGB (0-255, as their table) of its
object's inner pixels: those above the judge's brightness threshold whose 3 x 3 neighbourhood is
too, so the anti-aliased rim (whose share changes as an object moves) does not count. Motion does not move the score (the colour of a
moving object stays the same); a colour that drifts or flickers does.

`size_drift` is the same idea for size (chapter 7: does the object an image-to-video model was given
keep its size?): the object's area in every frame against its area in the first.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from .judge import JudgeConfig


class ContentDistance(NamedTuple):
    acd: float  # mean over clips of the mean pairwise distance between frame descriptors (0-255 RGB)
    scored: float  # share of clips with an object in at least two frames (the others have no ACD)


def frame_colours(videos: torch.Tensor, config: JudgeConfig = JudgeConfig()) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean colour of the inner object pixels of every frame `(b, f, 3)` in 0-255, and which frames
    have any such pixel `(b, f)` (the others' colours are 0)."""
    if videos.dim() != 5 or videos.shape[1] != 3:
        raise ValueError(f"expected RGB videos (b, 3, f, h, w), got {tuple(videos.shape)}")
    rgb = ((videos.float().cpu() + 1) / 2).clamp(0, 1)  # (b, 3, f, h, w)
    bright = (rgb.max(dim=1).values > config.brightness_threshold).float()  # (b, f, h, w)
    mask = -torch.nn.functional.max_pool3d(-bright[:, None], (1, 3, 3), stride=1, padding=(0, 1, 1))[:, 0]  # eroded
    pixels = mask.sum(dim=(2, 3))  # (b, f)
    colours = (rgb * mask[:, None]).sum(dim=(3, 4)) / pixels.clamp(min=1)[:, None]  # (b, 3, f)
    return 255 * colours.transpose(1, 2), pixels > 0


def average_content_distance(videos: torch.Tensor, config: JudgeConfig = JudgeConfig()) -> ContentDistance:
    """ACD of clips `(b, 3, f, h, w)` in [-1, 1]: per clip, the mean L2 distance between the
    descriptors of every pair of frames that show an object; then the mean over clips."""
    colours, present = frame_colours(videos, config)
    scores = []
    for colour, found in zip(colours, present):
        kept = colour[found]  # (k, 3)
        if len(kept) < 2:
            continue
        distances = torch.cdist(kept[None], kept[None])[0]  # (k, k)
        k = len(kept)
        scores.append(distances.sum() / (k * (k - 1)))  # the mean over ordered pairs i != j
    acd = torch.stack(scores).mean().item() if scores else float("nan")
    return ContentDistance(acd, len(scores) / len(videos))


class SizeDrift(NamedTuple):
    drift: float  # mean over clips and frames 2..F of |area_k / area_1 - 1| (0: the size never changes)
    last: float  # the same at the last frame only: how far the size has wandered by the end
    scored: float  # share of clips with an object in the first frame (the others have no drift)


def size_drift(videos: torch.Tensor, config: JudgeConfig = JudgeConfig()) -> SizeDrift:
    """How much the object's area (pixels above the judge's brightness threshold) changes along
    clips `(b, 3, f, h, w)` in [-1, 1], relative to the first frame's area. Rendered toy clips score
    about 0.02 (the anti-aliased rim; objects bounce off the edges, so none is cut)."""
    if videos.dim() != 5 or videos.shape[1] != 3 or videos.shape[2] < 2:
        raise ValueError(f"expected RGB videos (b, 3, f, h, w) with f >= 2, got {tuple(videos.shape)}")
    rgb = ((videos.float().cpu() + 1) / 2).clamp(0, 1)
    areas = (rgb.max(dim=1).values > config.brightness_threshold).float().sum(dim=(2, 3))  # (b, f)
    found = areas[:, 0] > 0
    if not found.any():
        return SizeDrift(float("nan"), float("nan"), 0.0)
    change = (areas[found, 1:] / areas[found, :1] - 1).abs()  # (k, f - 1)
    return SizeDrift(change.mean().item(), change[:, -1].mean().item(), found.float().mean().item())
