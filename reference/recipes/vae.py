"""Recipe of `vae-causal-tiny`: CogVideoX's 3D causal VAE on toy clips (chapter 5).

The autoencoder is `reference.models.CausalVAE`: 9-frame 32x32 clips (4k + 1 with k = 2) become
3 latent frames of 8x8 with 4 channels, 36 times fewer numbers. The loss is a KL-regularised
reconstruction loss (Kingma & Welling, 2014), as in the latent diffusion VAEs: mean squared error
per pixel plus a small weight on the KL divergence to N(0, I) per pixel, which keeps the latents
near unit scale for the diffusion model that will live in them without blurring the
reconstructions. The card measures reconstruction on clips from a seed training never used.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..data import Batch, DatasetConfig, WorldConfig
from ..evaluation import measure_autoencoder
from ..models.vae_causal import CausalVAE, CausalVAEConfig
from ..train import TrainConfig


@dataclass(frozen=True)
class CausalVAERecipe:
    # Spatial factor 4, temporal factor 4, 4 latent channels; narrow first level: 0.46 s/step on the 2-core CPU.
    model: CausalVAEConfig = CausalVAEConfig(channels=(16, 32, 64))
    data: DatasetConfig = DatasetConfig(world=WorldConfig(frames=9, height=32, width=32), length=1_000_000, seed=6)
    train: TrainConfig = TrainConfig(
        steps=3000, batch_size=8, lr=1e-3, warmup_steps=100, decay_start=0.5, min_lr_ratio=0.1, ema_decay=0.995
    )
    kl_weight: float = 1e-3  # on the KL per input number, against the MSE per number
    eval_clips: int = 128
    eval_seed: int = 16  # dataset seed of the evaluation clips (training uses `data.seed`)

    @classmethod
    def tiny(cls) -> "CausalVAERecipe":
        """For tests: trains in seconds (and learns nothing)."""
        return cls(
            model=CausalVAEConfig.tiny(),
            data=DatasetConfig(world=WorldConfig(frames=5, height=16, width=16), length=64),
            train=TrainConfig.tiny(),
            eval_clips=4,
        )


def build_model(recipe: CausalVAERecipe) -> CausalVAE:
    return CausalVAE(recipe.model)


def make_loss(recipe: CausalVAERecipe):
    """Reconstruction MSE per number plus `kl_weight` x KL per number, on one sampled latent."""

    def loss_fn(model: nn.Module, batch: Batch, generator: torch.Generator) -> torch.Tensor:
        video = batch.video  # (b, c, f, h, w)
        reconstruction, kl = model(video, generator=generator)
        per_number = video[0].numel()
        return nn.functional.mse_loss(reconstruction, video) + recipe.kl_weight * kl.mean() / per_number

    return loss_fn


@torch.no_grad()
def evaluate(model: CausalVAE, recipe: CausalVAERecipe) -> dict[str, float | int | str]:
    """`measure_autoencoder` on `eval_clips` clips of the training world that training never saw."""
    return measure_autoencoder(model, recipe.data.world, recipe.eval_clips, recipe.eval_seed)
