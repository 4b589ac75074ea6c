"""The judge: reads attributes back from pixels, so generated videos can be scored exactly.

For real video, FVD and CLIP-score estimate quality and prompt fidelity with learned networks.
The toy world allows something exact: every object is a flat palette colour on black, so a
handful of pixel rules recover, per object, its colour (nearest palette colour of the bright
pixels), its shape (how much of its bounding box it fills, and how its mass splits between top
and bottom half), and its direction of motion (how its centroid moves over the first frames),
and per video two temporal-consistency scores: flicker and object persistence. Its own accuracy
on rendered videos is measured in chapter 0 and tested. Input: `(b, c, f, h, w)` in [-1, 1].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
from einops import rearrange

from ..data.world import COLOURS, MOTIONS, SHAPES

PALETTE = torch.tensor(list(COLOURS.values()))  # (k, 3) in [0, 1]
PALETTE_NAMES = list(COLOURS)


@dataclass(frozen=True)
class JudgeConfig:
    brightness_threshold: float = 0.5  # a pixel belongs to an object when its brightest channel is above this
    min_area_fraction: float = 0.004  # ignore colour blobs smaller than this share of the canvas
    relative_area: float = 0.25  # ...or smaller than this share of the largest blob
    square_fill: float = 0.89  # fill of the bounding box above which a blob is a square
    triangle_top_mass: float = 0.38  # share of mass in the top half below which a blob is a triangle
    still_speed: float = 0.02  # median step below this share of the shorter side: standing still
    direction_steps: int = 3  # the first steps that decide the direction (before any bounce)


class JudgedObject(NamedTuple):
    colour: str
    shape: str
    motion: str | None  # None for a single frame
    area: float  # typical pixel count (90th percentile over frames)
    persistence: float  # share of frames in which the object is present at >= half its typical area


class Judgement(NamedTuple):
    objects: list[JudgedObject]  # largest first
    flicker: float  # mean frame-to-frame change of global mean and of the background (0 for rendered video)
    persistence: float  # the lowest persistence of any object (1 when nothing was found: nothing to lose)


def _shapes_of(masks: torch.Tensor, coverage: torch.Tensor, config: JudgeConfig) -> list[str]:
    """Classify each frame's object as circle, square or triangle.

    masks: `(f, h, w)` bool, the object's bright pixels (none empty); coverage: `(f, h, w)` in
    [0, 1], its brightness including the anti-aliased rim, so sizes are measured sub-pixel.
    """
    f, h, w = masks.shape
    rows = masks.any(dim=2)  # (f, h)
    top = rows.float().argmax(dim=1)
    bottom = h - 1 - rows.flip(1).float().argmax(dim=1)
    area = masks.sum(dim=(1, 2)).float()
    # Fill of the bounding box, sub-pixel: width is the sum over columns of the column's peak coverage.
    width = coverage.amax(dim=1).sum(dim=1)
    height = coverage.amax(dim=2).sum(dim=1)
    fill = coverage.sum(dim=(1, 2)) / (width * height).clamp(min=1e-6)
    # Mass above the box's middle row: a triangle (apex up) keeps only a quarter of its area there.
    centres = torch.arange(h, dtype=torch.float32)[None, :, None] + 0.5  # row centres (1, h, 1)
    middle = ((top + bottom + 1).float() / 2)[:, None, None]  # (f, 1, 1)
    weight = (centres < middle).float() + 0.5 * (centres == middle).float()  # half a row on the line
    top_mass = (masks.float() * weight).sum(dim=(1, 2)) / area
    return [
        "triangle" if m < config.triangle_top_mass else ("square" if q >= config.square_fill else "circle")
        for m, q in zip(top_mass.tolist(), fill.tolist())
    ]


def _direction(centres: torch.Tensor, short_side: int, config: JudgeConfig) -> str:
    """Motion from the centroid track `(f, 2)` as (y, x)."""
    steps = centres[1:] - centres[:-1]  # (f-1, 2)
    axis = int(steps.abs().sum(dim=0).argmax())  # 0: vertical, 1: horizontal
    if steps[:, axis].abs().median() < config.still_speed * short_side:
        return "still"
    early = steps[: config.direction_steps, axis].sum()
    if axis == 0:
        return "down" if early > 0 else "up"
    return "right" if early > 0 else "left"


def judge_video(video: torch.Tensor, config: JudgeConfig = JudgeConfig()) -> Judgement:
    """Judge one video `(c, f, h, w)` in [-1, 1] (an image is a one-frame video)."""
    if video.dim() != 4 or video.shape[0] != 3:
        raise ValueError(f"expected one RGB video (3, f, h, w), got shape {tuple(video.shape)}")
    rgb = ((video.float().cpu() + 1) / 2).clamp(0, 1)  # (3, f, h, w) in [0, 1]
    _, f, h, w = rgb.shape
    brightness = rgb.max(dim=0).values  # (f, h, w)
    foreground = brightness > config.brightness_threshold
    chroma = rgb / brightness.clamp(min=1e-6)  # normalise so anti-aliased edges keep their hue
    distances = torch.cdist(rearrange(chroma, "c f h w -> (f h w) c"), PALETTE)  # (f*h*w, k)
    labels = distances.argmin(dim=1).reshape(f, h, w)
    labels = torch.where(foreground, labels, torch.full_like(labels, -1))

    areas = torch.stack([(labels == k).sum(dim=(1, 2)) for k in range(len(PALETTE))]).float()  # (k, f)
    # Reference area of each colour: its 90th-percentile area over frames, so an object that
    # vanishes for a while still counts (and then scores low persistence).
    typical_areas = areas.quantile(0.9, dim=1)  # (k,)
    biggest = typical_areas.max().item()
    objects = []
    for k in typical_areas.argsort(descending=True).tolist():
        area = typical_areas[k].item()
        if area < max(config.min_area_fraction * h * w, config.relative_area * biggest) or area == 0:
            continue
        present = areas[k] >= 0.5 * area  # (f,)
        masks = labels == k  # (f, h, w)
        # The object's pixels and its one-pixel rim, where anti-aliasing leaves partial brightness.
        region = torch.nn.functional.max_pool2d(masks[:, None].float(), 3, stride=1, padding=1)[:, 0] > 0
        coverage = brightness * region
        shapes = _shapes_of(masks[present], coverage[present], config)
        shape = max(SHAPES, key=shapes.count)  # the majority over frames
        motion = None
        if f > 1:
            weights = masks.float()
            mass = weights.sum(dim=(1, 2)).clamp(min=1)  # (f,)
            ys = (weights.sum(dim=2) * torch.arange(h)).sum(dim=1) / mass
            xs = (weights.sum(dim=1) * torch.arange(w)).sum(dim=1) / mass
            motion = _direction(torch.stack([ys, xs], dim=-1), min(h, w), config)
        objects.append(JudgedObject(PALETTE_NAMES[k], shape, motion, area, present.float().mean().item()))

    flicker = _flicker(rgb, foreground) if f > 1 else 0.0
    persistence = min((o.persistence for o in objects), default=1.0)
    return Judgement(objects, flicker, persistence)


def _frame_changes(rgb: torch.Tensor, foreground: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """For each step t -> t + 1, `(f - 1,)` each: the change of the mean colour, the summed change
    over background pixels, and the number of those pixels. rgb: `(3, f, h, w)` in [0, 1];
    foreground: `(f, h, w)` bool."""
    means = rgb.mean(dim=(2, 3))  # (3, f)
    global_change = (means[:, 1:] - means[:, :-1]).abs().mean(dim=0)  # (f-1,)
    # Background: pixels at least one pixel away from any object in both frames, so that the
    # anti-aliased rim of a moving object does not count as flicker.
    near = torch.nn.functional.max_pool2d(foreground[:, None].float(), 3, stride=1, padding=1)[:, 0] > 0
    background = ~near[1:] & ~near[:-1]  # (f-1, h, w)
    change = (rgb[:, 1:] - rgb[:, :-1]).abs().mean(dim=0)  # (f-1, h, w)
    return global_change, (change * background).sum(dim=(1, 2)), background.sum(dim=(1, 2)).float()


def _flicker(rgb: torch.Tensor, foreground: torch.Tensor) -> float:
    """A video's flicker: mean change of the mean colour, plus mean change of a background pixel
    (pooled over all steps)."""
    global_change, background_change, background = _frame_changes(rgb, foreground)
    return (global_change.mean() + background_change.sum() / background.sum().clamp(min=1)).item()


def flicker_per_step(videos: torch.Tensor, config: JudgeConfig = JudgeConfig()) -> torch.Tensor:
    """The judge's flicker for each step between consecutive frames, `(b, f - 1)`: the change of the
    mean colour plus the mean change of a background pixel at that step. A video's flicker score
    is their mean when every step has the same background area (it pools the background pixels of
    all steps). The step-by-step plot of chapter 5."""
    if videos.dim() != 5 or videos.shape[2] < 2:
        raise ValueError(f"expected videos (b, c, f, h, w) with f >= 2, got {tuple(videos.shape)}")
    rgb = ((videos.float().cpu() + 1) / 2).clamp(0, 1)  # (b, c, f, h, w) in [0, 1]
    foreground = rgb.max(dim=1).values > config.brightness_threshold  # (b, f, h, w)
    steps = []
    for v, m in zip(rgb, foreground):
        global_change, background_change, background = _frame_changes(v, m)
        steps.append(global_change + background_change / background.clamp(min=1))
    return torch.stack(steps)


def judge(videos: torch.Tensor, config: JudgeConfig = JudgeConfig()) -> list[Judgement]:
    """Judge a batch `(b, c, f, h, w)`; a batch of images `(b, c, h, w)` counts as one-frame videos."""
    if videos.dim() == 4:
        videos = videos[:, :, None]
    if videos.dim() != 5:
        raise ValueError(f"expected videos (b, c, f, h, w) or images (b, c, h, w), got {tuple(videos.shape)}")
    return [judge_video(v, config) for v in videos]


Attributes = tuple[str, str, str | None]  # (colour, shape, motion or None)


def parse_caption(caption: str) -> list[Attributes]:
    """'a red square moving left and a blue circle' -> [('red', 'square', 'left'), ('blue', 'circle', None)]."""
    parsed = []
    for part in caption.lower().split(" and "):
        words = part.split()
        if len(words) < 3 or words[0] != "a" or words[1] not in COLOURS or words[2] not in SHAPES:
            raise ValueError(f"cannot parse {part!r}; expected 'a <colour> <shape> [moving <dir> | standing still]'")
        rest = words[3:]
        if not rest:
            motion = None
        elif rest == ["standing", "still"]:
            motion = "still"
        elif len(rest) == 2 and rest[0] == "moving" and rest[1] in MOTIONS and rest[1] != "still":
            motion = rest[1]
        else:
            raise ValueError(f"cannot parse the motion in {part!r}; expected 'moving left|right|up|down' or 'standing still'")
        parsed.append((words[1], words[2], motion))
    return parsed


class Accuracy(NamedTuple):
    colour: float  # share of prompted objects whose colour was found
    shape: float  # ... whose shape matches
    motion: float | None  # ... whose motion matches (None when no prompt names a motion)
    all_correct: float  # share of videos with every attribute of every object right
    n: int  # videos judged
    flicker: float  # mean flicker over videos
    persistence: float  # mean persistence over videos


def caption_accuracy(videos: torch.Tensor, prompts: list[str], config: JudgeConfig = JudgeConfig()) -> Accuracy:
    """How often the judged attributes match the prompt, per attribute and all together."""
    if len(prompts) != videos.shape[0]:
        raise ValueError(f"got {videos.shape[0]} videos but {len(prompts)} prompts")
    judgements = judge(videos, config)
    colour = shape = motion = motion_total = objects = all_right = 0
    for judgement, prompt in zip(judgements, prompts):
        wanted = parse_caption(prompt)
        video_right = True
        for c, s, m in wanted:
            objects += 1
            # A single-object prompt is matched with the largest object; several are matched by colour.
            if len(wanted) == 1:
                found = judgement.objects[0] if judgement.objects else None
            else:
                found = next((o for o in judgement.objects if o.colour == c), None)
            c_ok = found is not None and found.colour == c
            s_ok = found is not None and found.shape == s
            m_ok = m is None or (found is not None and found.motion == m)
            colour += c_ok
            shape += s_ok
            if m is not None:
                motion += m_ok
                motion_total += 1
            video_right &= c_ok and s_ok and m_ok
        all_right += video_right
    n = len(prompts)
    return Accuracy(
        colour=colour / objects,
        shape=shape / objects,
        motion=motion / motion_total if motion_total else None,
        all_correct=all_right / n,
        n=n,
        flicker=sum(j.flicker for j in judgements) / n,
        persistence=sum(j.persistence for j in judgements) / n,
    )
