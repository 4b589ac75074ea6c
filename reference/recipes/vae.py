"""Recipe of `vae-causal-tiny`: CogVideoX's 3D causal VAE on toy clips (chapter 5).

The autoencoder is `reference.models.CausalVAE`: 9-frame 32x32 clips (4k + 1 with k = 2) become
3 latent frames of 8x8 with 4 channels, 36 times fewer numbers. The loss is a KL-regularised
reconstruction loss (Kingma & Welling, 2014), as in the latent diffusion VAEs: mean squared error
per pixel plus a small weight on the KL divergence to N(0, I) per pixel, which keeps the latents
near unit scale for the diffusion model that will live in them without blurring the
reconstructions. The card measures reconstruction on clips from a seed training never used.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from einops import rearrange
from torch import nn

from ..data import Batch, DatasetConfig, ShapesDataset, WorldConfig, collate
from ..metrics.judge import caption_accuracy
from ..metrics.quality import motion_psnr, psnr, ssim
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
def reconstruct(model: nn.Module, videos: torch.Tensor, batch_size: int = 16) -> torch.Tensor:
    """Decode the latent means of `videos (n, c, f, h, w)`: the deterministic reconstruction."""
    device = next(model.parameters()).device
    out = [model.decode(model.encode(chunk.to(device))[0]).clamp(-1, 1).cpu() for chunk in videos.split(batch_size)]
    return torch.cat(out)


@torch.no_grad()
def measure(model: nn.Module, world: WorldConfig, clips: int, seed: int,
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


def evaluate(model: CausalVAE, recipe: CausalVAERecipe) -> dict[str, float | int | str]:
    """`measure` on `eval_clips` clips of the training world that training never saw."""
    return measure(model, recipe.data.world, recipe.eval_clips, recipe.eval_seed)
