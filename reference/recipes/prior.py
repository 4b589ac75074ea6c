"""Recipe of `prior-tiny`, Make-A-Video's prior P on the toy world (chapter 4).

P turns a caption into a CLIP image embedding (`reference.models.prior`: DALL-E 2's diffusion
prior). Its data are single frames and their captions, as Make-A-Video trains P on text-image
pairs only: one random frame of each clip, embedded by the frozen `clip-tiny`, is the target; the
caption's tokens and its CLIP text embedding are the condition. The unit-length embeddings are
scaled by sqrt(embed_dim) so each coordinate has a variance near 1, the scale the noise schedule
is built for. The network predicts the clean embedding (x0), on the cosine schedule; 10% of
captions are dropped (their text embedding zeroed too) so sampling can use guidance.

The card asks what the prior is for. CLIP's caption and frame embeddings of the same object are
not the same vector (a gap between the two modalities that contrastive training leaves), so a
decoder trained on frame embeddings would be handed something else if it were given the caption's
embedding. Measured on held-out prompts: the cosine of the sampled embedding to the embeddings of
rendered frames of the prompt, and which of the 18 colour-shape "prototypes" (the mean frame
embedding of each pair) it is nearest to, for the prior's samples against the caption's own CLIP
embedding used directly.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import torch
from torch import nn

from .. import store
from ..data import COLOURS, SHAPES, Batch, DatasetConfig, Tokenizer, WorldConfig, random_frames, render_combinations
from ..data.vocab import PAD_ID
from ..diffusion import DDIMSampler, NoiseSchedule, Parameterisation, ScheduleConfig, guided
from ..diffusion.forward import q_sample
from ..diffusion.samplers import sample
from ..evaluation import HELD_OUT, prompt
from ..models.clip import CLIP
from ..models.prior import DiffusionPrior, PriorConfig
from ..nn.text import drop_captions
from ..train import TrainConfig


@dataclass(frozen=True)
class PriorRecipe:
    model: PriorConfig = PriorConfig()
    clip: str = "clip-tiny"  # the frozen CLIP whose image embeddings the prior learns to sample
    data: DatasetConfig = DatasetConfig(
        world=WorldConfig(frames=9, height=32, width=32), length=1_000_000, seed=13, holdout=HELD_OUT
    )
    schedule: ScheduleConfig = ScheduleConfig()
    caption_dropout: float = 0.1
    sample_steps: int = 64  # DALL-E 2 samples its prior in 64 strided steps
    guidance_scale: float = 1.0
    train: TrainConfig = TrainConfig(
        steps=2000, batch_size=64, lr=3e-4, warmup_steps=100, decay_start=0.5, min_lr_ratio=0.1, ema_decay=0.995,
        amp=False,
    )
    eval_seed: int = 4321
    eval_samples: int = 256
    prototype_frames: int = 16  # rendered frames per colour-shape pair for the prototypes

    @classmethod
    def tiny(cls, clip: str = "clip-test") -> PriorRecipe:
        """For tests: trains in seconds on a test CLIP and learns nothing."""
        return cls(model=PriorConfig.tiny(), clip=clip,
                   data=DatasetConfig(world=WorldConfig(frames=3, height=16, width=16), length=64, holdout=HELD_OUT),
                   sample_steps=4, train=TrainConfig.tiny(), eval_samples=8, prototype_frames=2)


def load_clip(name: str, device: torch.device | str = "cpu") -> CLIP:
    """The frozen CLIP, loaded once per file and device (training reads it every step)."""
    return store.load_frozen_once(name, CLIP, "the prior (its embeddings are what the prior samples)", device)


def build_model(recipe: PriorRecipe) -> DiffusionPrior:
    embed_dim = store.card(recipe.clip)["recipe"]["model"]["embed_dim"]
    if recipe.model.embed_dim != embed_dim:
        raise ValueError(f"{recipe.clip} embeds in {embed_dim} dimensions; the prior's config says {recipe.model.embed_dim}")
    return DiffusionPrior(recipe.model)


def text_embeddings(clip: CLIP, tokens: torch.Tensor) -> torch.Tensor:
    """CLIP's caption embeddings `(b, e)`, zero for a dropped (all-padding) caption: the null condition."""
    empty = (tokens == PAD_ID).all(dim=1)
    out = torch.zeros(tokens.shape[0], clip.config.embed_dim, device=tokens.device)
    if (~empty).any():
        out[~empty] = clip.embed_captions(tokens[~empty])
    return out


def scale(recipe: PriorRecipe) -> float:
    return math.sqrt(recipe.model.embed_dim)


def make_loss(recipe: PriorRecipe):
    schedule = NoiseSchedule(recipe.schedule)

    def loss_fn(model: nn.Module, batch: Batch, generator: torch.Generator) -> torch.Tensor:
        device = batch.video.device
        clip = load_clip(recipe.clip, device)
        with torch.no_grad():
            x0 = scale(recipe) * clip.embed_frames(random_frames(batch.video, generator))
            tokens = drop_captions(batch.tokens, recipe.caption_dropout, generator)
            text = text_embeddings(clip, tokens)
        t = torch.randint(0, schedule.num_steps, (x0.shape[0],), generator=generator).to(device)
        noise = torch.randn(x0.shape, generator=generator).to(device)
        return nn.functional.mse_loss(model(q_sample(schedule, x0, t, noise), t, tokens, text), x0)

    return loss_fn


@torch.no_grad()
def generate_embeddings(model: DiffusionPrior, recipe: PriorRecipe, prompts: list[str], seed: int = 0) -> torch.Tensor:
    """Unit CLIP image embeddings `(n, e)` sampled for the prompts (DDIM over the x0 prediction)."""
    device = next(model.parameters()).device
    clip = load_clip(recipe.clip, device)
    tokens = Tokenizer().encode_batch(prompts).to(device)
    text = text_embeddings(clip, tokens)
    null = torch.full_like(tokens, PAD_ID)

    def denoiser(z: torch.Tensor, t: torch.Tensor, words: torch.Tensor) -> torch.Tensor:
        return model(z, t, words, text if len(z) == len(text) else torch.cat([text, torch.zeros_like(text)]))

    sampler = DDIMSampler(NoiseSchedule(recipe.schedule), recipe.sample_steps, Parameterisation.X0, clip_x0=False)
    z = sample(sampler, guided(denoiser, tokens, null, recipe.guidance_scale), (len(prompts), recipe.model.embed_dim),
               generator=torch.Generator().manual_seed(seed), device=device)
    return nn.functional.normalize(z, dim=-1)


PAIRS = [(c, s) for c in COLOURS for s in SHAPES]


@torch.no_grad()
def prototypes(clip: CLIP, recipe: PriorRecipe) -> torch.Tensor:
    """`(18, e)`: the mean frame embedding (renormalised) of each colour-shape pair, from rendered
    clips of `eval_seed` (every frame of each)."""
    device = next(clip.parameters()).device
    out = []
    for colour, shape in PAIRS:
        clips = render_combinations([(colour, shape, "left")] * recipe.prototype_frames, recipe.eval_seed,
                                    recipe.data.world)
        frames = clips.transpose(1, 2).flatten(0, 1).to(device)  # every frame of every clip
        out.append(clip.embed_frames(frames).mean(dim=0))
    return nn.functional.normalize(torch.stack(out), dim=-1)


def retrieval(embeddings: torch.Tensor, protos: torch.Tensor, combinations: list[tuple[str, str, str]]) -> dict[str, float]:
    """Colour, shape and both right for the nearest prototype of each embedding."""
    nearest = [PAIRS[i] for i in (embeddings @ protos.T).argmax(dim=1).tolist()]
    n = len(combinations)
    return {"colour": sum(p[0] == c[0] for p, c in zip(nearest, combinations)) / n,
            "shape": sum(p[1] == c[1] for p, c in zip(nearest, combinations)) / n,
            "object": sum(p == c[:2] for p, c in zip(nearest, combinations)) / n}


@torch.no_grad()
def evaluate(model: DiffusionPrior, recipe: PriorRecipe) -> dict[str, float | int | str]:
    device = next(model.parameters()).device
    clip = load_clip(recipe.clip, device)
    combinations = list(itertools.islice(itertools.cycle(HELD_OUT), recipe.eval_samples))
    prompts = [prompt(c) for c in combinations]
    sampled = generate_embeddings(model, recipe, prompts, seed=recipe.eval_seed)
    text = clip.embed_captions(Tokenizer().encode_batch(prompts).to(device))
    clips = render_combinations(combinations, recipe.eval_seed, recipe.data.world)
    truth = clip.embed_frames(clips[:, :, clips.shape[2] // 2].to(device))  # a rendered frame of each prompt
    protos = prototypes(clip, recipe)
    prior_right, text_right = retrieval(sampled, protos, combinations), retrieval(text, protos, combinations)
    pair = torch.tensor([PAIRS.index(c[:2]) for c in combinations], device=device)
    same = (pair[:, None] == pair[None]) & ~torch.eye(len(pair), dtype=torch.bool, device=device)  # other frames of the pair
    return {
        **{f"prior_{k}_retrieval": v for k, v in prior_right.items()},
        **{f"text_{k}_retrieval": v for k, v in text_right.items()},
        "prior_cosine_to_frame": (sampled * truth).sum(dim=-1).mean().item(),
        "text_cosine_to_frame": (text * truth).sum(dim=-1).mean().item(),
        "frame_cosine_to_frame": (truth @ truth.T)[same].mean().item(),  # two rendered frames of one pair, for scale
        "eval_samples": len(prompts),
        "eval_prompts": "held-out colour x shape x motion combinations",
        "sampler": f"DDIM {recipe.sample_steps} steps on the x0 prediction, guidance {recipe.guidance_scale}",
    }
