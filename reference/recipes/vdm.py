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

import dataclasses
from dataclasses import dataclass

from torch import nn

from .. import store
from ..data import DatasetConfig, WorldConfig
from ..diffusion import Parameterisation, ScheduleConfig
from ..diffusion.noise import NoisePrior
from ..evaluation import HELD_OUT, VIDEO_DATA
from ..models.vdm import ConvKind, TemporalPosition, VDMUNet, VDMUNetConfig
from ..sampling import SamplerKind, judge_samples
from ..train import TrainConfig


@dataclass(frozen=True)
class VDMRecipe:
    model: VDMUNetConfig = VDMUNetConfig(
        channels=(24, 48, 96), conv=ConvKind.SPATIAL, temporal_position=TemporalPosition.RELATIVE,
        temporal_condition=True,  # chapter 6: the caption must reach the layers that mix frames
    )
    # Cosine, T = 1000, as frames-tiny, with every SNR divided by 16: on 32 x 32 pixels an object's
    # place is plain at noise levels where chapter 6's 8 x 8 latents hide it, so the unshifted schedule
    # leaves almost no training where the frames must agree on a trajectory (simple diffusion's shift
    # for a 4x larger side; chapter 2).
    schedule: ScheduleConfig = ScheduleConfig(snr_shift=4.0)
    parameterisation: Parameterisation = Parameterisation.V
    data: DatasetConfig = VIDEO_DATA  # 8x32x32 clips, the held-out combinations removed
    train: TrainConfig = TrainConfig(
        steps=1800, batch_size=8, lr=5e-4, warmup_steps=100, decay_start=0.5, min_lr_ratio=0.1, ema_decay=0.995
    )
    init_from: str | None = "frames-tiny"  # image model whose weights fill the spatial layers
    # Noise correlated across frames in training and sampling (PYoCo, chapter 6), off by default.
    noise: NoisePrior = NoisePrior.INDEPENDENT
    noise_alpha: float = 1.0
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


# Chapter 2's first `vdm-tiny` (kept as `vdm-first-tiny`): chapter 0's schedule unshifted, and temporal
# attention that sees only the frames' features. Its motion stayed at chance.
FIRST = dataclasses.replace(
    VDMRecipe(), schedule=ScheduleConfig(), model=dataclasses.replace(VDMRecipe.model, temporal_condition=False),
)


def build_model(recipe: VDMRecipe) -> VDMUNet:
    return VDMUNet(recipe.model)


def initialize(model: VDMUNet, recipe: VDMRecipe) -> dict | None:
    """Fill the spatial layers from the recipe's image model (before training); what the card records."""
    if recipe.init_from is None:
        return None

    model.load_image_weights(store.load(recipe.init_from, device="cpu"))
    return {"name": recipe.init_from, "sha256": store.card(recipe.init_from)["sha256"]}


def evaluate(model: nn.Module, recipe: VDMRecipe) -> dict[str, float | int | str]:
    """The judge on `eval_samples` videos of held-out prompts, frame by frame too, and the layout
    spread of `diversity_samples` clips per held-out prompt (`reference.evaluation`)."""
    return judge_samples(model, recipe, recipe.diversity_samples)
