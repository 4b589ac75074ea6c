"""Recipe of `vdm-tiny`: text-to-video diffusion with VDM's space-time UNet (chapter 2).

The diffusion is chapter 0's, unchanged (cosine schedule, v-prediction, DDIM, guidance); only the
data gains a frame axis and the denoiser becomes `reference.models.VDMUNet`. Training starts from
`frames-tiny`: its weights fill the spatial layers and the temporal layers start as the identity,
so step 0 already draws the right object in every frame and training only has to learn motion
(the image-pretraining-then-inflation route of Make-A-Video and of VDM's joint training).

Some colour x shape x motion combinations are held out of training; the card's caption accuracy
is measured on exactly those prompts, so it measures composition, not memory.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import nn

from ..data import DatasetConfig, WorldConfig
from ..diffusion import Parameterisation, ScheduleConfig
from ..metrics.diversity import layout_spread
from ..metrics.judge import caption_accuracy
from ..models.vdm import ConvKind, TemporalPosition, VDMUNet, VDMUNetConfig
from ..train import TrainConfig
from .frames import SamplerKind, generate

if TYPE_CHECKING:  # chapter 3's recipe is measured by the same judge
    from ..metrics.judge import Accuracy
    from .latte import LatteRecipe

Combination = tuple[str, str, str]

# Never shown in training: every colour once, every shape twice, every motion at least once.
HELD_OUT: tuple[Combination, ...] = (
    ("red", "circle", "left"),
    ("green", "square", "right"),
    ("blue", "triangle", "up"),
    ("yellow", "circle", "down"),
    ("magenta", "square", "still"),
    ("cyan", "triangle", "left"),
)


@dataclass(frozen=True)
class VDMRecipe:
    model: VDMUNetConfig = VDMUNetConfig(
        channels=(24, 48, 96), conv=ConvKind.SPATIAL, temporal_position=TemporalPosition.RELATIVE
    )
    schedule: ScheduleConfig = ScheduleConfig()  # cosine, T = 1000, as frames-tiny
    parameterisation: Parameterisation = Parameterisation.V
    data: DatasetConfig = DatasetConfig(
        world=WorldConfig(frames=8, height=32, width=32), length=1_000_000, seed=2, holdout=HELD_OUT
    )
    train: TrainConfig = TrainConfig(
        steps=1800, batch_size=8, lr=5e-4, warmup_steps=100, decay_start=0.5, min_lr_ratio=0.1, ema_decay=0.995
    )
    init_from: str | None = "frames-tiny"  # image model whose weights fill the spatial layers
    caption_dropout: float = 0.1
    sampler: SamplerKind = SamplerKind.DDIM
    sample_steps: int = 25
    guidance_scale: float = 1.0
    eval_samples: int = 256
    eval_seed: int = 1234
    diversity_samples: int = 16  # clips per held-out prompt for the layout spread (chapter 1's comparison)

    @classmethod
    def tiny(cls) -> "VDMRecipe":
        """For tests: trains in seconds (and learns nothing), no image model needed."""
        return cls(
            model=VDMUNetConfig.tiny(),
            data=DatasetConfig(world=WorldConfig(frames=4, height=16, width=16), length=64, holdout=HELD_OUT),
            train=TrainConfig.tiny(),
            init_from=None,
            sample_steps=2,
            eval_samples=4,
            diversity_samples=2,
        )


def build_model(recipe: VDMRecipe) -> VDMUNet:
    return VDMUNet(recipe.model)


def initialize(model: VDMUNet, recipe: VDMRecipe) -> dict | None:
    """Fill the spatial layers from the recipe's image model (before training); what the card records."""
    if recipe.init_from is None:
        return None
    from .. import zoo  # the zoo imports the recipes, so it is imported only when needed

    model.load_image_weights(zoo.load(recipe.init_from, device="cpu"))
    return {"name": recipe.init_from, "sha256": zoo.card(recipe.init_from)["sha256"]}


def prompt(combination: Combination) -> str:
    colour, shape, motion = combination
    return f"a {colour} {shape} " + ("standing still" if motion == "still" else f"moving {motion}")


def eval_prompts(n: int, combinations: tuple[Combination, ...] = HELD_OUT) -> list[str]:
    """n prompts cycling through the given combinations (by default the held-out ones)."""
    return [prompt(c) for c in itertools.islice(itertools.cycle(combinations), n)]


def judged(scores: "Accuracy", prefix: str = "") -> dict[str, float]:
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
    from ..data import render_combinations

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


def evaluate(model: nn.Module, recipe: "VDMRecipe | LatteRecipe") -> dict[str, float | int | str]:
    """Caption accuracy by the judge on `eval_samples` videos of held-out prompts, frame by frame
    too, and (where the recipe asks for it) the layout spread (any text-to-video recipe)."""
    prompts = eval_prompts(recipe.eval_samples, recipe.data.holdout or HELD_OUT)
    videos, timing = timed(lambda: generate(model, recipe, prompts, seed=recipe.eval_seed, batch_size=32), model)
    spread = {}
    if getattr(recipe, "diversity_samples", 0):
        holdout = recipe.data.holdout or HELD_OUT
        spread = layout_metrics(lambda p, seed: generate(model, recipe, p, seed=seed, batch_size=32), holdout,
                                recipe.data.world, recipe.diversity_samples, recipe.eval_seed + 1)
    return {
        **judged(caption_accuracy(videos, prompts)),
        **by_frame(videos, prompts),
        **spread,
        **timing,
        "eval_samples": len(prompts),
        "eval_prompts": "held-out colour x shape x motion combinations",
        "sampler": f"{recipe.sampler.value} {recipe.sample_steps} steps, guidance {recipe.guidance_scale}",
    }
