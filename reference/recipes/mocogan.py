"""Recipe of `mocogan-tiny`: MoCoGAN on the toy world, conditioned on the caption (chapter 6).

The data and held-out prompts are `vdm-tiny`'s (8 x 32 x 32 clips), so the judge's scores compare
with chapter 1's GANs and the diffusion models. The caption's colour and shape join the content
code and its motion word is the category, fed to the motion network (the paper's best variant).
Optimiser as the official code: Adam, lr 2e-4, betas (0.5, 0.999), weight decay 1e-5 (decoupled
here). The code alternates D_I, D_V and G updates; the book's one training loop steps all three
together on one summed loss, the critics' losses plus the generator's read through detached
critic weights (as `tganc-tiny`). The EMA of the weights is what is sampled.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from torch import nn

from .. import evaluation
from ..data import Batch, DatasetConfig, Tokenizer
from ..metrics.consistency import average_content_distance
from ..metrics.judge import caption_accuracy
from ..models.mocogan import (
    CategoryRoute,
    Labels,
    MoCoGAN,
    MoCoGANConfig,
    caption_labels,
    discriminator_loss,
    generator_loss,
)
from ..train import TrainConfig


@dataclass(frozen=True)
class MoCoGANRecipe:
    model: MoCoGANConfig = MoCoGANConfig()
    data: DatasetConfig = evaluation.VIDEO_DATA  # 8x32x32 clips, held-out prompts as vdm-tiny
    train: TrainConfig = TrainConfig(steps=3000, batch_size=16, lr=2e-4, warmup_steps=0, decay_start=1.0,
                                     weight_decay=1e-5, grad_clip=0.0, ema_decay=0.999)
    eval_samples: int = 256
    eval_seed: int = 1234
    diversity_samples: int = 16  # clips per held-out prompt for the layout spread
    curve_every: int = 250  # a learning-curve point (the judge on curve_samples clips) every so many steps
    curve_samples: int = 120

    @classmethod
    def tiny(cls) -> "MoCoGANRecipe":
        from ..data import WorldConfig

        return cls(model=MoCoGANConfig.tiny(),
                   data=DatasetConfig(world=WorldConfig(frames=4, height=16, width=16), length=64, holdout=evaluation.HELD_OUT),
                   train=TrainConfig.tiny(), eval_samples=6, diversity_samples=2, curve_every=1, curve_samples=4)


def with_route(route: CategoryRoute) -> MoCoGANRecipe:
    """`mocogan-tiny`'s recipe with the category (the motion word) sent by `route`: IMAGE is the
    official code's default (every frame's code), MOTION the paper's best variant (the GRU)."""
    base = MoCoGANRecipe()
    return dataclasses.replace(base, model=dataclasses.replace(base.model, route=CategoryRoute(route)))


def build_model(recipe: MoCoGANRecipe) -> MoCoGAN:
    world = recipe.data.world
    if (world.frames, world.height, world.width) != (recipe.model.frames, recipe.model.size, recipe.model.size):
        raise ValueError(f"the data's clips are {world.frames} x {world.height} x {world.width}; the model makes "
                         f"{recipe.model.frames} x {recipe.model.size} x {recipe.model.size}")
    return MoCoGAN(recipe.model)


def make_loss(recipe: MoCoGANRecipe):
    """Both critics' losses + the generator's loss through frozen critics, one sum."""

    def loss_fn(model: nn.Module, batch: Batch, generator: torch.Generator) -> torch.Tensor:
        gan: MoCoGAN = getattr(model, "module", model)
        labels = caption_labels(batch.tokens)
        fake = gan.generate(labels, *gan.sample_codes(len(batch.caption), generator, batch.video.device))
        critics = discriminator_loss(gan, batch.video, fake, labels, generator)
        player = generator_loss(gan, fake, labels, generator, frozen=True)
        return sum(critics.values()) + sum(player.values())

    return loss_fn


@torch.no_grad()
def generate(model: MoCoGAN, recipe: MoCoGANRecipe, prompts: list[str], seed: int = 0,
             batch_size: int = 128) -> torch.Tensor:
    """One clip per prompt `(n, 3, f, h, w)` in [-1, 1]; the codes are drawn for all prompts at
    once from the seed, so a clip does not depend on the batch it was drawn in."""
    device = next(model.parameters()).device
    labels = caption_labels(Tokenizer().encode_batch(prompts).to(device))
    codes = model.sample_codes(len(prompts), torch.Generator().manual_seed(seed), device)
    rows = [slice(start, start + batch_size) for start in range(0, len(prompts), batch_size)]
    return torch.cat([model.generate(Labels(*(part[r] for part in labels)), *(part[r] for part in codes)).cpu()
                      for r in rows])


def curve_point(model: MoCoGAN, recipe: MoCoGANRecipe) -> dict[str, float]:
    """One point of the learning curve: the judge and ACD on `curve_samples` held-out clips, drawn
    with batch norm in inference mode (as the final card), whatever mode training left it in."""
    training = model.training
    model.eval()
    prompts = evaluation.eval_prompts(recipe.curve_samples, recipe.data.holdout or evaluation.HELD_OUT)
    videos = generate(model, recipe, prompts, seed=recipe.eval_seed)
    model.train(training)
    scores = caption_accuracy(videos, prompts)
    return {"colour": scores.colour, "shape": scores.shape, "motion": scores.motion, "all_correct": scores.all_correct,
            "acd": average_content_distance(videos).acd}


def evaluate(model: MoCoGAN, recipe: MoCoGANRecipe) -> dict[str, float | int | str]:
    """The judge on held-out prompts and the layout spread, as chapter 1's GANs, and MoCoGAN's ACD
    on the same clips."""
    videos, _, metrics = evaluation.judge_generator(lambda p, seed: generate(model, recipe, p, seed=seed), model,
                                                    recipe.data, recipe.eval_samples, recipe.eval_seed,
                                                    recipe.diversity_samples)
    content = average_content_distance(videos)
    return {**metrics, "acd": content.acd, "acd_scored": content.scored}
