"""Recipes of `godiva-vqvae-tiny` and `godiva-tiny`: GODIVA's two stages on the toy world (chapter 1).

1. `godiva-vqvae-tiny`: a VQ-VAE (van den Oord et al., 2017) trained on single 32x32 frames; each
   frame becomes an 8x8 grid of indices into a codebook of 128 entries, so an 8-frame clip is
   512 tokens. Loss: mean squared reconstruction error plus the codebook and commitment losses.
2. `godiva-tiny`: the autoregressive prior (Wu et al., 2021) over those 512 tokens, conditioned on
   the caption, its layers cycling temporal, row and column sparse attention. It is trained by
   cross-entropy on the tokens of clips that the frozen VQ-VAE encodes on the fly, on the same
   data and held-out prompts as `vdm-tiny`, so the judge's scores compare directly.

Sampling draws the 512 tokens one at a time (512 steps of the prior, keys and values cached) and
decodes them with the VQ-VAE's decoder. The card adds what chapter 1 discusses: sampling time per
video, the layout spread (diversity), the judge's colour and shape frame by frame (does the error
grow along the clip?), the validation cross-entropy and how much of the codebook the samples use.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import nn

from .. import evaluation, store
from ..data import Batch, DatasetConfig, ShapesDataset, Tokenizer, WorldConfig, collate
from ..metrics.judge import caption_accuracy
from ..models.godiva import VQVAE, GodivaPrior, PriorConfig, SparseAxis, VQVAEConfig, codebook_usage
from ..train import TrainConfig

CLIP = WorldConfig(frames=8, height=32, width=32)
SAMPLE_BATCH = 256  # clips whose tokens are drawn together (one cached step serves the whole batch)


@dataclass(frozen=True)
class VQVAERecipe:
    model: VQVAEConfig = VQVAEConfig(channels=(32, 64), codebook_size=128, code_dim=16)
    data: DatasetConfig = DatasetConfig(world=WorldConfig(frames=1, height=32, width=32), length=1_000_000, seed=9)
    train: TrainConfig = TrainConfig(steps=3000, batch_size=32, lr=1e-3, warmup_steps=100, decay_start=0.5,
                                     min_lr_ratio=0.1, ema_decay=0.995)
    init_frames: int = 64  # training frames whose encoder outputs fill the codebook before training (0: uniform init)
    eval_world: WorldConfig = CLIP  # the card measures clips, as chapter 5's frame VAE
    eval_clips: int = 128
    eval_seed: int = 16

    @classmethod
    def tiny(cls) -> "VQVAERecipe":
        """For tests: trains in seconds (and learns nothing)."""
        world = WorldConfig(frames=3, height=16, width=16)
        return cls(model=VQVAEConfig.tiny(), data=DatasetConfig(world=world, length=64),
                   train=TrainConfig.tiny(), eval_world=world, eval_clips=4)


@dataclass(frozen=True)
class GodivaRecipe:
    prior: PriorConfig = PriorConfig(codebook_size=128, grid=(8, 8, 8), dim=96, heads=4, depth=6)  # 0.8 s/step of 16 clips, 1 CPU thread
    vqvae: str = "godiva-vqvae-tiny"  # the frozen VQ-VAE whose tokens the prior learns
    data: DatasetConfig = evaluation.VIDEO_DATA  # 8x32x32 clips, held-out prompts as vdm-tiny
    train: TrainConfig = TrainConfig(steps=3000, batch_size=16, lr=1e-3, warmup_steps=100, decay_start=0.5,
                                     min_lr_ratio=0.1, ema_decay=0.995)
    temperature: float = 1.0
    eval_samples: int = 256
    eval_seed: int = 1234
    diversity_samples: int = 16  # clips per held-out prompt for the layout spread
    validation_clips: int = 128  # held-out-seed clips for the cross-entropy
    validation_seed: int = 16

    @classmethod
    def tiny(cls, vqvae: str) -> "GodivaRecipe":
        """For tests: a 3-frame 16x16 world on the named (test) VQ-VAE; trains in seconds."""
        return cls(prior=PriorConfig(codebook_size=8, grid=(3, 4, 4), dim=16, heads=2, depth=3),
                   vqvae=vqvae,
                   data=DatasetConfig(world=WorldConfig(frames=3, height=16, width=16), length=64, holdout=evaluation.HELD_OUT),
                   train=TrainConfig.tiny(), eval_samples=6, diversity_samples=2, validation_clips=4)


# The ablation of chapter 1: the same prior with ordinary causal attention over the whole clip in
# every layer, which sees every earlier token where the sparse stack sees only a box (see
# `reference.models.godiva.receptive_field`).
FULL_ATTENTION = GodivaRecipe(prior=replace(GodivaRecipe().prior, axes=(SparseAxis.FULL,)))


def build_vqvae(recipe: VQVAERecipe) -> VQVAE:
    return VQVAE(recipe.model)


def initialize_vqvae(model: VQVAE, recipe: VQVAERecipe) -> dict | None:
    """Fill the codebook with encoder outputs of `init_frames` training frames (what the card records)."""
    if not recipe.init_frames:
        return None
    data = ShapesDataset(recipe.data)
    frames = collate([data[i] for i in range(recipe.init_frames)]).video
    model.init_codebook(frames, torch.Generator().manual_seed(recipe.train.seed))
    return {"codebook": f"random encoder outputs on {recipe.init_frames} training frames"}


def make_vqvae_loss(recipe: VQVAERecipe):
    """Reconstruction MSE + codebook loss + beta x commitment loss."""

    def loss_fn(model: nn.Module, batch: Batch, generator: torch.Generator) -> torch.Tensor:
        reconstruction, _, vq_loss = model(batch.video)
        return nn.functional.mse_loss(reconstruction, batch.video) + vq_loss

    return loss_fn


@torch.no_grad()
def _codec(model: VQVAE, videos: torch.Tensor, batch_size: int = 16) -> torch.Tensor:
    device = next(model.parameters()).device
    return torch.cat([model.decode(model.encode(chunk.to(device))).clamp(-1, 1).cpu()
                      for chunk in videos.split(batch_size)])


@torch.no_grad()
def evaluate_vqvae(model: VQVAE, recipe: VQVAERecipe) -> dict[str, float | int | str | list]:
    """Chapter 5's reconstruction measures, plus codebook usage on the same clips and bits per clip."""
    metrics = evaluation.measure_autoencoder(model, recipe.eval_world, recipe.eval_clips, recipe.eval_seed, codec=_codec,
                      latent_of=lambda m, v: m.encode(v))
    data = ShapesDataset(DatasetConfig(world=recipe.eval_world, length=recipe.eval_clips, seed=recipe.eval_seed))
    tokens = model.encode(collate([data[i] for i in range(recipe.eval_clips)]).video.to(next(model.parameters()).device))
    usage = codebook_usage(tokens.cpu(), model.config.codebook_size)
    bits = tokens[0].numel() * torch.log2(torch.tensor(float(model.config.codebook_size))).item()
    return {**metrics, "codebook_used": usage["used"], "codebook_perplexity": usage["perplexity"],
            "tokens_per_clip": tokens[0].numel(), "bits_per_clip": bits}


def build_prior(recipe: GodivaRecipe) -> GodivaPrior:
    return GodivaPrior(recipe.prior)


def load_vqvae(name: str, device: torch.device | str = "cpu") -> VQVAE:

    return store.load_frozen(name, VQVAE, "the GODIVA prior", device)


def initialize(model: GodivaPrior, recipe: GodivaRecipe) -> dict:
    """Check that the VQ-VAE's tokens fit the prior's grid and vocabulary; the card records which VQ-VAE."""

    vq = load_vqvae(recipe.vqvae)
    world, s = recipe.data.world, vq.config.space_factor
    grid = (world.frames, world.height // s, world.width // s)
    if grid != recipe.prior.grid or vq.config.codebook_size != recipe.prior.codebook_size:
        raise ValueError(f"{recipe.vqvae} makes {grid} grids of {vq.config.codebook_size} codes; the prior "
                         f"expects {recipe.prior.grid} grids of {recipe.prior.codebook_size}")
    return {"vqvae": recipe.vqvae, "sha256": store.card(recipe.vqvae)["sha256"]}


def make_prior_loss(recipe: GodivaRecipe):
    """Cross-entropy of each token of the frozen VQ-VAE's grids, given the caption and the tokens before it."""
    vqs: dict[torch.device, VQVAE] = {}  # loaded once per device, on first use

    def loss_fn(model: nn.Module, batch: Batch, generator: torch.Generator) -> torch.Tensor:
        device = batch.video.device
        if device not in vqs:
            vqs[device] = load_vqvae(recipe.vqvae, device)
        inner: GodivaPrior = getattr(model, "module", model)  # DDP wraps the model
        return inner.loss(vqs[device].encode(batch.video), batch.tokens)

    return loss_fn


@torch.no_grad()
def sample_tokens(model: GodivaPrior, recipe: GodivaRecipe, prompts: list[str], seed: int = 0,
                  batch_size: int = SAMPLE_BATCH) -> torch.Tensor:
    """Token grids `(n, f, h, w)` for the prompts; deterministic given the seed."""
    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(seed)
    tokenizer = Tokenizer()
    return torch.cat([model.sample(tokenizer.encode_batch(prompts[i : i + batch_size]).to(device), generator,
                                   recipe.temperature).cpu()
                      for i in range(0, len(prompts), batch_size)])


@torch.no_grad()
def decode(tokens: torch.Tensor, vqvae: str, batch_size: int = 64) -> torch.Tensor:
    vq = load_vqvae(vqvae)
    return torch.cat([vq.decode(chunk).clamp(-1, 1) for chunk in tokens.split(batch_size)])


def generate(model: GodivaPrior, recipe: GodivaRecipe, prompts: list[str], seed: int = 0) -> torch.Tensor:
    """Videos `(n, 3, f, h, w)` in [-1, 1]: sampled tokens through the VQ-VAE's decoder."""
    return decode(sample_tokens(model, recipe, prompts, seed=seed), recipe.vqvae)


@torch.no_grad()
def validation_loss(model: GodivaPrior, recipe: GodivaRecipe) -> float:
    """Mean cross-entropy (nats per token) on clips from a dataset seed training never used."""
    device = next(model.parameters()).device
    data = ShapesDataset(DatasetConfig(world=recipe.data.world, length=recipe.validation_clips,
                                       seed=recipe.validation_seed))
    batch = collate([data[i] for i in range(recipe.validation_clips)])
    tokens = load_vqvae(recipe.vqvae, device).encode(batch.video.to(device))
    return model.loss(tokens, batch.tokens.to(device)).item()


def evaluate(model: GodivaPrior, recipe: GodivaRecipe) -> dict[str, float | int | str | list]:
    """The judge on `eval_samples` videos of held-out prompts, frame by frame too; sampling time;
    codebook use of the samples; layout spread; validation cross-entropy."""
    holdout = recipe.data.holdout or evaluation.HELD_OUT
    prompts = evaluation.eval_prompts(recipe.eval_samples, holdout)
    tokens, timing = evaluation.timed(lambda: sample_tokens(model, recipe, prompts, seed=recipe.eval_seed), model)
    videos = decode(tokens, recipe.vqvae)
    usage = codebook_usage(tokens, recipe.prior.codebook_size)
    spread = evaluation.layout_metrics(lambda p, seed: generate(model, recipe, p, seed=seed), holdout, recipe.data.world,
                            recipe.diversity_samples, recipe.eval_seed + 1)
    return {
        **evaluation.judged(caption_accuracy(videos, prompts)),
        **evaluation.by_frame(videos, prompts),
        **spread,
        "validation_nats_per_token": validation_loss(model, recipe),
        "sample_codebook_used": usage["used"],
        "sample_codebook_perplexity": usage["perplexity"],
        "prior_steps_per_video": tokens[0].numel(),
        **timing,
        "sampling_batch": min(len(prompts), SAMPLE_BATCH),
        "eval_samples": len(prompts),
        "eval_prompts": "held-out colour x shape x motion combinations",
        "temperature": recipe.temperature,
    }
