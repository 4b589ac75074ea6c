"""Recipe of `videofusion-tiny`: VideoFusion's base and residual generators on the toy world (chapter 6).

The data, held-out prompts and schedule are `vdm-tiny`'s (8 x 32 x 32 clips, cosine schedule), so
the two compare directly. The base generator starts from `frames-tiny` and is fine-tuned at a tenth
of the learning rate; the residual generator (the same UNet, told the frame index) starts from
scratch. Training draws VideoFusion's noise (the key frame's is the base noise, every other frame's
mixes base and residual by lambda) and sums the paper's two losses; sampling is DDIM on the
combined epsilon prediction, with the base prediction computed once per step for the whole clip.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from torch import nn

from .. import evaluation, store
from ..data import Batch, DatasetConfig, Tokenizer, WorldConfig
from ..diffusion import DDIMSampler, NoiseSchedule, Parameterisation, ScheduleConfig, guided, q_sample, sample
from ..diffusion.noise import decomposed_noise
from ..models.unet2d import UNet2DConfig
from ..models.videofusion import VideoFusion, VideoFusionConfig
from ..nn.text import drop_captions
from ..train import TrainConfig


@dataclass(frozen=True)
class VideoFusionRecipe:
    model: VideoFusionConfig = VideoFusionConfig()
    init_from: str | None = "frames-tiny"  # the image model the base generator starts from
    base_lr_ratio: float = 0.1  # the base generator's learning rate, as a share of the residual's
    schedule: ScheduleConfig = ScheduleConfig()
    data: DatasetConfig = evaluation.VIDEO_DATA  # vdm-tiny's clips and held-out prompts
    train: TrainConfig = TrainConfig(
        steps=1500, batch_size=8, lr=5e-4, warmup_steps=100, decay_start=0.5, min_lr_ratio=0.1, ema_decay=0.995
    )
    caption_dropout: float = 0.1
    sample_steps: int = 25
    guidance_scale: float = 1.0
    eval_samples: int = 256
    eval_seed: int = 1234

    @classmethod
    def tiny(cls) -> "VideoFusionRecipe":
        """For tests: trains in seconds (and learns nothing), no image model needed."""
        return cls(model=VideoFusionConfig.tiny(), init_from=None,
                   data=DatasetConfig(world=WorldConfig(frames=4, height=16, width=16), length=64, holdout=evaluation.HELD_OUT),
                   train=TrainConfig.tiny(), sample_steps=2, eval_samples=4)


# VideoFusion's lambda, ablated at the shipped budget: 0.5 is the paper's (and videofusion-tiny's),
# 0.9 shares nine tenths of every frame's noise.
LAMBDA_ABLATION = (0.9,)


def with_lambda(lam: float) -> VideoFusionRecipe:
    """`videofusion-tiny`'s recipe with every non-key frame's lambda set to `lam`."""
    base = VideoFusionRecipe()
    return dataclasses.replace(base, model=dataclasses.replace(base.model, lam=lam))


def build_model(recipe: VideoFusionRecipe) -> VideoFusion:
    return VideoFusion(recipe.model, NoiseSchedule(recipe.schedule))


def initialize(model: VideoFusion, recipe: VideoFusionRecipe) -> dict | None:
    """Load the image model into the base generator and slow its learning rate; what the card records."""
    if recipe.init_from is None:
        return None

    image = store.load(recipe.init_from, device="cpu")
    if not isinstance(image.config, UNet2DConfig) or image.config != recipe.model.base:
        raise ValueError(f"{recipe.init_from} is not a UNet2D of the base generator's config {recipe.model.base}")
    model.load_image_weights(image)
    model.base_lr_ratio = recipe.base_lr_ratio
    return {"name": recipe.init_from, "sha256": store.card(recipe.init_from)["sha256"], "base_lr_ratio": recipe.base_lr_ratio}


def clip_noise(config: VideoFusionConfig, shape: tuple[int, ...], generator: torch.Generator | None) -> torch.Tensor:
    """VideoFusion's noise for clips of `shape` (b, c, f, h, w): base noise shared, residual per frame."""
    b, c, _, h, w = shape
    base = torch.randn((b, c, 1, h, w), generator=generator)
    return decomposed_noise(base, torch.randn(shape, generator=generator), config.lambdas())


def make_loss(recipe: VideoFusionRecipe):
    schedule = NoiseSchedule(recipe.schedule)

    def loss_fn(model: nn.Module, batch: Batch, generator: torch.Generator) -> torch.Tensor:
        inner = getattr(model, "module", model)
        x0 = batch.video  # (b, c, f, h, w)
        tokens = drop_captions(batch.tokens, recipe.caption_dropout, generator)
        t = torch.randint(0, schedule.num_steps, (x0.shape[0],), generator=generator)
        noise = clip_noise(recipe.model, tuple(x0.shape), generator).to(x0)
        x_t = q_sample(schedule, x0, t, noise)
        return inner.loss(x_t, t.to(x0.device), tokens, noise)

    return loss_fn


@torch.no_grad()
def generate(model: VideoFusion, recipe: VideoFusionRecipe, prompts: list[str], seed: int = 0,
             batch_size: int = 64) -> torch.Tensor:
    """Clips `(n, 3, f, h, w)` in [-1, 1]: DDIM on the combined eps, from VideoFusion's noise; seeded."""
    device = next(model.parameters()).device
    sampler = DDIMSampler(NoiseSchedule(recipe.schedule), recipe.sample_steps, Parameterisation.EPSILON)
    world, tokenizer = recipe.data.world, Tokenizer()
    generator = torch.Generator().manual_seed(seed)
    out = []
    for start in range(0, len(prompts), batch_size):
        chunk = prompts[start : start + batch_size]
        tokens = tokenizer.encode_batch(chunk).to(device)
        shape = (len(chunk), 3, world.frames, world.height, world.width)
        noise = clip_noise(recipe.model, shape, generator)
        model_fn = guided(model, tokens, torch.zeros_like(tokens), recipe.guidance_scale)
        out.append(sample(sampler, model_fn, shape, generator=generator, device=device, noise=noise).clamp(-1, 1).cpu())
    return torch.cat(out)


def evaluate(model: VideoFusion, recipe: VideoFusionRecipe) -> dict[str, float | int | str]:
    """The judge on `eval_samples` clips of held-out prompts, as every text-to-video card."""
    _, _, metrics = evaluation.judge_generator(lambda p, seed: generate(model, recipe, p, seed=seed), model, recipe.data,
                                               recipe.eval_samples, recipe.eval_seed)
    sampler = f"DDIM {recipe.sample_steps} steps (eps, base shared per step), guidance {recipe.guidance_scale}"
    return {**metrics, "sampler": sampler}
