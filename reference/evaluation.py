"""Judging generated video: what every text-to-video card measures, and on which prompts.

One module for all generators (chapters 1, 2, 3, 5, 6), so their cards compare directly: the
held-out colour x shape x motion combinations (never shown in training), the prompts cycled through
them, the judge's per-attribute and per-frame scores as card metrics, the layout spread against
rendered clips (mode collapse, chapter 1), and the sampling time. A recipe brings its own
`generate`; this module decides what is measured on its output. The autoencoders of chapters 1
and 5 are measured here too, on reconstructions of rendered clips (`measure_autoencoder`).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable

import torch
from einops import rearrange
from torch import nn

from .data import COLOURS, SHAPES, DatasetConfig, ShapesDataset, WorldConfig, collate, render_combinations
from .metrics.diversity import layout_spread
from .metrics.judge import Accuracy, caption_accuracy
from .metrics.quality import motion_psnr, psnr, ssim

Combination = tuple[str, str, str]  # (colour, shape, motion)

# Never shown in training: every colour once, every shape twice, every motion at least once.
HELD_OUT: tuple[Combination, ...] = (
    ("red", "circle", "left"),
    ("green", "square", "right"),
    ("blue", "triangle", "up"),
    ("yellow", "circle", "down"),
    ("magenta", "square", "still"),
    ("cyan", "triangle", "left"),
)

# The text-to-video data of chapters 1, 2 and 6's pixel models: 8 x 32 x 32 clips, one object each,
# the held-out combinations removed.
VIDEO_DATA = DatasetConfig(world=WorldConfig(frames=8, height=32, width=32), length=1_000_000, seed=2,
                           holdout=HELD_OUT)

# The image data of chapter 0's and chapter 5's image models: single 32 x 32 frames, nothing held out.
IMAGE_DATA = DatasetConfig(world=WorldConfig(frames=1, height=32, width=32), length=1_000_000)

HELD_OUT_PROMPTS = "held-out colour x shape x motion combinations"  # what the cards' `eval_prompts` says


def prompt(combination: Combination) -> str:
    colour, shape, motion = combination
    return f"a {colour} {shape} " + ("standing still" if motion == "still" else f"moving {motion}")


def image_prompts(n: int) -> list[str]:
    """n image prompts ("a red circle") cycling through every colour x shape, each pair measured equally."""
    pairs = list(itertools.product(COLOURS, SHAPES))
    return [f"a {c} {s}" for c, s in itertools.islice(itertools.cycle(pairs), n)]


def eval_prompts(n: int, combinations: tuple[Combination, ...] = HELD_OUT) -> list[str]:
    """n prompts cycling through the given combinations (by default the held-out ones)."""
    return [prompt(c) for c in itertools.islice(itertools.cycle(combinations), n)]


def judged(scores: Accuracy, prefix: str = "") -> dict[str, float]:
    """The judge's scores of text-to-video samples as card metrics (every video model's card)."""
    return {
        f"{prefix}caption_accuracy": scores.all_correct,
        f"{prefix}colour_accuracy": scores.colour,
        f"{prefix}shape_accuracy": scores.shape,
        f"{prefix}motion_accuracy": scores.motion,
        f"{prefix}flicker": scores.flicker,
        f"{prefix}persistence": scores.persistence,
    }


def by_frame(videos: torch.Tensor, prompts: list[str]) -> dict[str, list[float]]:
    """The judge's colour and shape accuracy on each frame alone: how the error grows along a clip."""
    scores = [caption_accuracy(videos[:, :, k : k + 1], prompts) for k in range(videos.shape[2])]
    return {"colour_by_frame": [s.colour for s in scores], "shape_by_frame": [s.shape for s in scores]}


def timed(sample: Callable[[], torch.Tensor], model: nn.Module) -> tuple[torch.Tensor, dict[str, float | str]]:
    """Run `sample()` (a batch of n clips or token grids); its result, and the card's sampling
    time per clip and device."""
    start = time.perf_counter()
    with torch.no_grad():
        out = sample()
    seconds = time.perf_counter() - start
    return out, {"sampling_s_per_video": seconds / len(out), "sampling_device": str(next(model.parameters()).device)}


def layout_metrics(generate_clips: Callable[[list[str], int], torch.Tensor], holdout: tuple, world: WorldConfig,
                   per_prompt: int, seed: int) -> dict[str, float]:
    """Layout spread of `per_prompt` samples of each held-out prompt (`generate_clips(prompts, seed)`)
    against rendered clips of the same prompts: the card's mode-collapse numbers (chapter 1)."""
    same = [prompt(c) for c in holdout for _ in range(per_prompt)]
    spread = layout_spread(generate_clips(same, seed), same)
    rendered = render_combinations([c for c in holdout for _ in range(per_prompt)], 0, world)
    reference = layout_spread(rendered, same)
    return {
        "centre_spread": spread.centre,
        "area_spread": spread.area,
        "empty_share": spread.empty,
        "centre_spread_of_rendered": reference.centre,
        "area_spread_of_rendered": reference.area,
    }


def judge_generator(generate_clips: Callable[[list[str], int], torch.Tensor], model: nn.Module, data: DatasetConfig,
                    samples: int, seed: int, diversity_samples: int = 0) -> tuple[torch.Tensor, list[str], dict]:
    """The metrics every text-to-video card carries: `samples` clips of the held-out prompts drawn
    by `generate_clips(prompts, seed)`, judged per attribute and per frame, timed, and (when
    `diversity_samples` > 0) the layout spread of that many clips per held-out prompt. Returns the
    clips and prompts too, for metrics of the recipe's own (e.g. ACD)."""
    holdout = data.holdout or HELD_OUT
    prompts = eval_prompts(samples, holdout)
    videos, timing = timed(lambda: generate_clips(prompts, seed), model)
    spread = layout_metrics(generate_clips, holdout, data.world, diversity_samples, seed + 1) if diversity_samples else {}
    metrics = {
        **judged(caption_accuracy(videos, prompts)),
        **by_frame(videos, prompts),
        **spread,
        **timing,
        "eval_samples": len(prompts),
        "eval_prompts": HELD_OUT_PROMPTS,
    }
    return videos, prompts, metrics


@torch.no_grad()
def reconstruct(model: nn.Module, videos: torch.Tensor, batch_size: int = 16) -> torch.Tensor:
    """Decode the latent means of `videos (n, c, f, h, w)`: the deterministic reconstruction."""
    device = next(model.parameters()).device
    out = [model.decode(model.encode(chunk.to(device))[0]).clamp(-1, 1).cpu() for chunk in videos.split(batch_size)]
    return torch.cat(out)


@torch.no_grad()
def measure_autoencoder(model: nn.Module, world: WorldConfig, clips: int, seed: int,
                        codec: Callable[[nn.Module, torch.Tensor], torch.Tensor] = reconstruct,
                        latent_of: Callable[[nn.Module, torch.Tensor], torch.Tensor] = lambda model, v: model.encode(v)[0],
                        ) -> dict[str, float | int | str]:
    """PSNR and SSIM per frame, first-frame PSNR, PSNR of the frame differences (motion), flicker
    and whether the judge still reads the motion, on `clips` rendered clips of `world` from dataset
    seed `seed` (any autoencoder of chapters 1 and 5: `codec` reconstructs a batch, `latent_of`
    gives the code whose size sets the compression)."""
    data = ShapesDataset(DatasetConfig(world=world, length=clips, seed=seed))
    batch = collate([data[i] for i in range(clips)])
    videos = batch.video
    recon = codec(model, videos)
    as_frames = lambda v: rearrange(v, "b c f h w -> (b f) c h w")  # noqa: E731
    per_frame = psnr(as_frames(recon), as_frames(videos))  # (b*f,)
    original = caption_accuracy(videos, batch.caption)
    judged = caption_accuracy(recon, batch.caption)
    latent = latent_of(model, videos[:1].to(next(model.parameters()).device))
    return {
        "psnr": per_frame.mean().item(),
        "psnr_first_frame": psnr(recon[:, :, 0], videos[:, :, 0]).mean().item(),
        "ssim": ssim(recon, videos).mean().item(),
        "motion_psnr": motion_psnr(recon, videos).mean().item(),
        "flicker": judged.flicker,
        "flicker_of_originals": original.flicker,
        "motion_accuracy": judged.motion,
        "motion_accuracy_of_originals": original.motion,
        "compression": videos[0].numel() / latent[0].numel(),
        "latent_shape": list(latent.shape[1:]),
        "eval_clips": clips,
    }
