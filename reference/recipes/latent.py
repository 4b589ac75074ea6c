"""Recipes of `latent-frames-tiny` and `latent-t2v-tiny`: diffusion in a VAE's latent space (chapter 5).

The route of Video LDM: an image diffusion model trained on the frozen frame VAE's latents
(`latent-frames-tiny`, chapter 0's UNet and recipe on 8x8x4 latents instead of 32x32x3 frames),
then inflated into a video model by temporal layers that start as the identity and trained on clips
(`latent-t2v-tiny`). Everything else is `vdm-tiny`'s (the same space-time UNet, cosine schedule,
v-prediction, DDIM 25, the same data and held-out prompts), so the two compare directly: 8 frames
of 8x8x4 latents against 8 frames of 32x32x3 pixels (12x fewer numbers).
The video decoder `vae-video-decoder-tiny` was fine-tuned with that encoder frozen, so it reads the
same latents: one set of sampled latents can be decoded frame by frame (the naive latent video
model) or by the video decoder (MagicVideo), which is how chapter 5 measures the flicker each adds.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .. import evaluation, store
from ..data import Batch, DatasetConfig, ShapesDataset, Tokenizer, collate
from ..diffusion import NoiseSchedule, Parameterisation, ScheduleConfig, diffusion_loss, guided, sample
from ..models.ldm import LatentUNet2D, LatentVDMUNet
from ..models.unet2d import UNet2DConfig
from ..models.vae import VAE
from ..models.vdm import VDMUNetConfig
from ..nn.text import drop_captions
from ..sampling import SamplerKind, describe, make_sampler
from ..train import TrainConfig


@dataclass(frozen=True)
class LatentT2VRecipe:
    model: UNet2DConfig | VDMUNetConfig = VDMUNetConfig(in_channels=4, channels=(24, 48, 96))  # vdm-tiny's UNet, 4 latent channels
    vae: str = "vae-frame-tiny"  # the frozen encoder whose latents the model learns
    init_from: str | None = "latent-frames-tiny"  # latent image model whose weights (and scale) fill the spatial layers
    decoder: str = "vae-video-decoder-tiny"  # decodes samples (`generate`, the card's headline)
    naive_decoder: str = "vae-frame-tiny"  # the image decoder, frame by frame, measured beside it
    schedule: ScheduleConfig = ScheduleConfig()
    parameterisation: Parameterisation = Parameterisation.V
    data: DatasetConfig = evaluation.VIDEO_DATA  # 8x32x32 clips, held-out prompts as vdm-tiny
    train: TrainConfig = TrainConfig(
        steps=1500, batch_size=16, lr=5e-4, warmup_steps=100, decay_start=0.5, min_lr_ratio=0.1, ema_decay=0.995
    )
    caption_dropout: float = 0.1
    sampler: SamplerKind = SamplerKind.DDIM
    sample_steps: int = 25
    guidance_scale: float = 1.0
    scale_clips: int = 64  # clips whose latents set the latent scale
    eval_samples: int = 256
    eval_seed: int = 1234

    @classmethod
    def tiny(cls, vae: str, decoder: str, latent_channels: int = 2) -> "LatentT2VRecipe":
        """For tests: trains in seconds on the named (test) VAEs, and learns nothing."""
        from dataclasses import replace

        from ..data import WorldConfig

        return cls(model=replace(VDMUNetConfig.tiny(), in_channels=latent_channels), vae=vae, init_from=None, decoder=decoder, naive_decoder=vae,
                   data=DatasetConfig(world=WorldConfig(frames=4, height=16, width=16), length=64,
                                      holdout=evaluation.HELD_OUT),
                   train=TrainConfig.tiny(), sample_steps=2, scale_clips=4, eval_samples=4)


# The latent image model: chapter 0's frames-tiny recipe (data, schedule, batch) on frame latents.
LATENT_FRAMES = LatentT2VRecipe(
    model=UNet2DConfig(in_channels=4, channels=(24, 48, 96)), init_from=None, decoder="vae-frame-tiny",
    data=evaluation.IMAGE_DATA,
    train=TrainConfig(steps=3000, batch_size=64, lr=1e-3, warmup_steps=200, decay_start=0.5, min_lr_ratio=0.1,
                      ema_decay=0.998),
)


def build_model(recipe: LatentT2VRecipe) -> LatentUNet2D | LatentVDMUNet:
    if isinstance(recipe.model, UNet2DConfig):
        return LatentUNet2D(recipe.model)
    return LatentVDMUNet(recipe.model)


def load_vae(name: str, device: torch.device | str = "cpu") -> VAE:

    return store.load_frozen(name, VAE, "a latent diffusion model (frame-wise latents)", device)


@torch.no_grad()
def encode(vae: VAE, videos: torch.Tensor, scale: torch.Tensor | float) -> torch.Tensor:
    """Videos `(b, 3, f, h, w)` -> scaled latent means `(b, z, f, h/s, w/s)`."""
    return vae.encode(videos)[0] * scale


def initialize(model: LatentUNet2D | LatentVDMUNet, recipe: LatentT2VRecipe) -> dict:
    """Load the latent image model (spatial layers and scale), or measure the latent scale on
    `scale_clips` training clips; the card records the VAE, the scale and the image model."""

    vae_info = {"name": recipe.vae, "sha256": store.card(recipe.vae)["sha256"]}
    if recipe.init_from is not None:
        if not isinstance(model, LatentVDMUNet):
            raise ValueError("init_from fills a video model's spatial layers; this is an image model")
        model.load_image_weights(store.load(recipe.init_from, device="cpu"))
        return {"name": recipe.init_from, "sha256": store.card(recipe.init_from)["sha256"],
                "latent_scale": model.latent_scale.item(), "vae": vae_info}
    vae = load_vae(recipe.vae)
    if vae.config.latent_channels != model.config.in_channels:
        raise ValueError(f"{recipe.vae} makes {vae.config.latent_channels}-channel latents; "
                         f"the denoiser takes {model.config.in_channels}")
    data = ShapesDataset(recipe.data)
    videos = collate([data[i] for i in range(recipe.scale_clips)]).video
    scale = model.fit_latent_scale(encode(vae, videos, 1.0))
    return {"name": None, "latent_scale": scale, "vae": vae_info}


def make_loss(recipe: LatentT2VRecipe):
    """vdm-tiny's diffusion loss, on the frozen VAE's scaled latent means."""
    schedule = NoiseSchedule(recipe.schedule)
    vaes: dict[torch.device, VAE] = {}  # loaded once per device, on first use

    def loss_fn(model: nn.Module, batch: Batch, generator: torch.Generator) -> torch.Tensor:
        device = batch.video.device
        if device not in vaes:
            vaes[device] = load_vae(recipe.vae, device)
        inner = getattr(model, "module", model)  # DDP wraps the model
        latents = encode(vaes[device], batch.video, inner.latent_scale)
        tokens = drop_captions(batch.tokens, recipe.caption_dropout, generator)
        return diffusion_loss(lambda x_t, t: model(x_t, t, tokens), latents, schedule, recipe.parameterisation, generator)

    return loss_fn


@torch.no_grad()
def sample_latents(model: LatentUNet2D | LatentVDMUNet, recipe: LatentT2VRecipe, prompts: list[str], seed: int = 0,
                   batch_size: int = 64) -> torch.Tensor:
    """Unscaled latents `(n, z, f, h/s, w/s)` for the prompts, ready for a decoder; deterministic."""
    vae_config = load_vae(recipe.vae).config
    world, s = recipe.data.world, vae_config.space_factor
    device = next(model.parameters()).device
    sampler = make_sampler(recipe, clip_x0=False)  # latents are not bounded to [-1, 1]
    tokenizer = Tokenizer()
    generator = torch.Generator().manual_seed(seed)
    out = []
    for start in range(0, len(prompts), batch_size):
        chunk = prompts[start : start + batch_size]
        tokens = tokenizer.encode_batch(chunk).to(device)
        model_fn = guided(model, tokens, torch.zeros_like(tokens), recipe.guidance_scale)
        shape = (len(chunk), vae_config.latent_channels, world.frames, world.height // s, world.width // s)
        out.append(sample(sampler, model_fn, shape, generator=generator, device=device).cpu())
    return torch.cat(out) / model.latent_scale.cpu()


@torch.no_grad()
def decode(latents: torch.Tensor, decoder: str, batch_size: int = 32) -> torch.Tensor:
    """Decode unscaled latents with the named zoo VAE's decoder into videos in [-1, 1]."""
    vae = load_vae(decoder)
    return torch.cat([vae.decode(chunk).clamp(-1, 1) for chunk in latents.split(batch_size)])


def generate(model: LatentUNet2D | LatentVDMUNet, recipe: LatentT2VRecipe, prompts: list[str], seed: int = 0) -> torch.Tensor:
    """Videos `(n, 3, f, h, w)` in [-1, 1]: sampled latents through the recipe's decoder."""
    return decode(sample_latents(model, recipe, prompts, seed=seed), recipe.decoder)


def evaluate(model: LatentUNet2D | LatentVDMUNet, recipe: LatentT2VRecipe) -> dict[str, float | int | str]:
    """The judge on `eval_samples` videos of held-out prompts, decoded by the video decoder (headline)
    and, from the very same latents, by the frame decoder (`naive_*`)."""
    from ..metrics.judge import caption_accuracy

    if recipe.data.world.frames == 1:  # the latent image model: colour and shape, as frames-tiny
        prompts = evaluation.image_prompts(recipe.eval_samples)
        scores = caption_accuracy(generate(model, recipe, prompts, seed=recipe.eval_seed), prompts)
        return {"caption_accuracy": scores.all_correct, "colour_accuracy": scores.colour,
                "shape_accuracy": scores.shape, "eval_samples": len(prompts), "decoder": recipe.decoder,
                "sampler": describe(recipe)}
    prompts = evaluation.eval_prompts(recipe.eval_samples, recipe.data.holdout or evaluation.HELD_OUT)
    latents = sample_latents(model, recipe, prompts, seed=recipe.eval_seed)
    metrics: dict[str, float | int | str] = {}
    for prefix, name in (("", recipe.decoder), ("naive_", recipe.naive_decoder)):
        metrics.update(evaluation.judged(caption_accuracy(decode(latents, name), prompts), prefix))
    metrics.update({
        "decoder": recipe.decoder,
        "naive_decoder": recipe.naive_decoder,
        "eval_samples": len(prompts),
        "eval_prompts": "held-out colour x shape x motion combinations",
        "sampler": describe(recipe),
    })
    return metrics
