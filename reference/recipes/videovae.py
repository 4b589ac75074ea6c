"""Recipes of chapter 5's frame and video autoencoders, all measured by `evaluation.measure_autoencoder`.

- `vae-frame-tiny`: the image (frame) KL-VAE of latent diffusion, trained on single frames:
  32x32x3 -> 8x8x4, 12x fewer numbers. Applied frame by frame it is the naive latent video VAE.
- `vae-video-decoder-tiny`: MagicVideo's video decoder: the frame VAE with temporal conv and
  attention inserted in the decoder (identity at the start), fine-tuned on clips with the encoder
  frozen, so it decodes the very same latents.
- `videovae-{simultaneous,sequential,combined}-tiny`: VideoVAE's three designs at one compression,
  8x32x32x3 -> 4x8x8x4 (24x); the sequential and combined designs start from `vae-frame-tiny`, the
  simultaneous one from scratch; same data, steps and batch for all three.

The loss is `vae.make_loss` (MSE + a small KL weight per number) for every one of them; the card
measures 8-frame clips from a dataset seed training never used.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from .. import store
from ..data import DatasetConfig, WorldConfig
from ..evaluation import measure_autoencoder
from ..models.vae import VAE, VAEConfig
from ..models.videovae import Design, VideoVAE, VideoVAEConfig
from ..train import TrainConfig

CLIP = WorldConfig(frames=8, height=32, width=32)


@dataclass(frozen=True)
class VideoVAERecipe:
    model: VAEConfig | VideoVAEConfig
    data: DatasetConfig
    train: TrainConfig
    kl_weight: float = 1e-3  # on the KL per input number, as vae-causal-tiny
    init_from: str | None = None  # the zoo frame VAE that fills the spatial layers before training
    freeze_encoder: bool = False  # MagicVideo: fine-tune the decoder only
    init_temporal_from: str | None = None  # a zoo VideoVAE whose temporal autoencoder this one continues
    pretrained_lr_ratio: float = 1.0  # learning rate of the loaded layers, as a share of lr
    eval_world: WorldConfig = CLIP  # the card always measures clips, even for the frame VAE
    eval_clips: int = 128
    eval_seed: int = 16

    @classmethod
    def tiny(cls, model: VAEConfig | VideoVAEConfig | None = None) -> "VideoVAERecipe":
        """For tests: trains in seconds (and learns nothing)."""
        world = WorldConfig(frames=4, height=16, width=16)
        return cls(model=model or VAEConfig.tiny(), data=DatasetConfig(world=world, length=64),
                   train=TrainConfig.tiny(), eval_world=world, eval_clips=4)


# Fine-tuning and from-scratch video runs share one budget: 1500 steps of 4 clips (32 frames, the
# frame VAE's batch). Measured on the 2-core CPU, one thread each: 0.3-1.1 s per step.
VIDEO_TRAIN = TrainConfig(steps=1500, batch_size=4, lr=1e-3, warmup_steps=100, decay_start=0.5, min_lr_ratio=0.1,
                          ema_decay=0.995)
VIDEO_DATA = DatasetConfig(world=CLIP, length=1_000_000, seed=8)

FRAME = VideoVAERecipe(
    model=VAEConfig(),
    data=DatasetConfig(world=WorldConfig(frames=1, height=32, width=32), length=1_000_000, seed=7),
    train=TrainConfig(steps=3000, batch_size=32, lr=1e-3, warmup_steps=100, decay_start=0.5, min_lr_ratio=0.1,
                      ema_decay=0.995),
)
VIDEO_DECODER = VideoVAERecipe(
    model=VAEConfig(temporal_decoder=True), data=VIDEO_DATA, train=VIDEO_TRAIN,
    init_from="vae-frame-tiny", freeze_encoder=True,
)
# The combined design is trained in two stages: it continues the sequential design (image VAE +
# its trained temporal autoencoder), made temporal-aware by zero-initialised temporal layers, which
# learn at the full rate while the loaded layers fine-tune at a tenth of it. Trained in one stage
# from the image VAE and a fresh temporal autoencoder, the pretrained decoder chased the untrained
# temporal autoencoder's outputs and the loss lagged far behind (0.055 at step 500 with one rate for
# all, 0.05-0.07 at step 250 with the split rates, against 0.011 and 0.017 for the sequential design).
DESIGNS: dict[Design, VideoVAERecipe] = {
    design: VideoVAERecipe(
        model=VideoVAEConfig(design=design, frame=VAEConfig(), time_levels=1), data=VIDEO_DATA, train=VIDEO_TRAIN,
        init_from=None if design is Design.SIMULTANEOUS else "vae-frame-tiny",
        init_temporal_from="videovae-sequential-tiny" if design is Design.COMBINED else None,
        pretrained_lr_ratio=0.1 if design is Design.COMBINED else 1.0,
    )
    for design in Design
}


def build_model(recipe: VideoVAERecipe) -> VAE | VideoVAE:
    return VAE(recipe.model) if isinstance(recipe.model, VAEConfig) else VideoVAE(recipe.model)


def initialize(model: VAE | VideoVAE, recipe: VideoVAERecipe) -> dict | None:
    """Load the frame VAE named by the recipe (and freeze what the design keeps fixed); the card records it."""
    if recipe.init_from is None:
        return None

    model.load_image_weights(store.load(recipe.init_from, device="cpu"))
    if recipe.freeze_encoder:
        if not isinstance(model, VAE):
            raise ValueError("freeze_encoder applies to a VAE (the video decoder), not a VideoVAE")
        model.freeze_encoder()
    if recipe.init_temporal_from is not None:
        if not isinstance(model, VideoVAE):
            raise ValueError("init_temporal_from applies to a VideoVAE")
        model.load_temporal_weights(store.load(recipe.init_temporal_from, device="cpu"))
    if recipe.pretrained_lr_ratio != 1.0:
        if not isinstance(model, VideoVAE):
            raise ValueError("pretrained_lr_ratio applies to a VideoVAE")
        model.pretrained_lr_ratio = recipe.pretrained_lr_ratio
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    info = {"name": recipe.init_from, "sha256": store.card(recipe.init_from)["sha256"], "trainable_parameters": trainable}
    if recipe.init_temporal_from is not None:
        info["temporal_from"] = {"name": recipe.init_temporal_from, "sha256": store.card(recipe.init_temporal_from)["sha256"]}
    return info


def evaluate(model: nn.Module, recipe: VideoVAERecipe) -> dict[str, float | int | str]:
    return measure_autoencoder(model, recipe.eval_world, recipe.eval_clips, recipe.eval_seed)
