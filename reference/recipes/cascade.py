"""Recipes of Make-A-Video's cascade on the toy world: D, D^t, ↑F, SR_l, SR_l^t, SR_h (chapter 4).

Make-A-Video (Singer et al., 2022) generates a clip in stages, each a diffusion model of its own:
the prior P (`reference.recipes.prior`) turns the caption into a CLIP image embedding; the
spatiotemporal decoder D^t draws a few key frames at low resolution from it; the interpolation
network ↑F fills the frames between them; SR_l^t raises the resolution of every frame with
temporal layers, SR_h once more frame by frame. Every network starts as an image model and only
what was added for time learns from clips (`reference.models.cascade`).

The toy cascade, sizes chosen so every stage trains on the 2-core CPU:

    caption -> P -> CLIP embedding (64) -> D^t: 5 key frames 16x16, skip 4
            -> per window of 3 key frames: ↑F: 9 frames 16x16 -> SR_l^t: 9 x 32x32 -> SR_h: 9 x 64x64
            -> the windows joined: 17 frames 64x64

The clips of the cascade's world move half as fast per frame as the book's usual clips, so the 17
frames of a cascade clip cover the path of a usual 9-frame clip at twice its frame rate. The
16-pixel stages (D, D^t, ↑F) learn from clips rendered at 32 pixels and shrunk by area averaging;
a super-resolution stage's targets are rendered at its output size and its input is the target
shrunk the same way. The CLIP embeddings are of 32x32 frames, the size `clip-tiny` and
`prior-tiny` work at.

Each recipe here is one stage: `Stage.DECODER` (D with one frame, D^t with several), `Stage.INTERPOLATION`
(↑F) and `Stage.SUPERRES` (SR_l, SR_l^t, SR_h). The card of each measures the stage alone, on
rendered inputs where a stage takes frames; `reference.recipes.cascade.CascadeRecipe` measures them
joined.
"""

from __future__ import annotations

import itertools
import random
import time
from dataclasses import dataclass, replace
from enum import Enum
from typing import NamedTuple

import torch
from torch import nn

from .. import store
from ..data import DatasetConfig, Tokenizer, WorldConfig, render_combinations
from ..data.vocab import PAD_ID
from ..diffusion import DDIMSampler, NoiseSchedule, Parameterisation, ScheduleConfig, diffusion_loss
from ..diffusion.forward import q_sample, target
from ..diffusion.samplers import sample
from ..evaluation import HELD_OUT, judged, prompt
from ..metrics.cost import count_flops
from ..metrics.judge import caption_accuracy, flicker_per_step
from ..metrics.quality import pooled_motion_psnr, pooled_psnr, psnr
from ..models.cascade import StageConfig, StageUNet, freeze_spatial, inflate, widen_input
from ..models.clip import CLIP
from ..models.vdm import ConvKind, VDMUNetConfig
from ..nn.text import drop_captions
from ..train import TrainConfig
from . import prior as prior_recipes

# The cascade's world: 17 frames, half the usual speed (a usual 9-frame path at twice the frame rate).
WORLD = WorldConfig(frames=17, height=64, width=64, min_speed=0.025, max_speed=0.04)
KEY_FRAMES, KEY_SKIP = 5, 4  # D^t's key frames and their skip: frames 0, 4, 8, 12, 16
WINDOW_KEYS = 3  # key frames per window of ↑F and the super-resolution stages (9 frames each)
WINDOW = (WINDOW_KEYS - 1) * KEY_SKIP + 1


def world_at(size: int, frames: int = WORLD.frames) -> WorldConfig:
    return replace(WORLD, height=size, width=size, frames=frames)


def shrink(videos: torch.Tensor, factor: int) -> torch.Tensor:
    """Area-average `(b, c, f, h, w)` by `factor` in height and width (the cascade's downsampling)."""
    if factor == 1:
        return videos
    b, c, f, h, w = videos.shape
    frames = videos.transpose(1, 2).reshape(b * f, c, h, w)
    small = nn.functional.avg_pool2d(frames, factor)
    return small.reshape(b, f, c, h // factor, w // factor).transpose(1, 2)


def enlarge(videos: torch.Tensor, size: int) -> torch.Tensor:
    """Bilinear upsampling of `(b, c, f, h, w)` to `size` x `size`: how a super-resolution stage sees its input."""
    b, c, f, h, w = videos.shape
    frames = videos.transpose(1, 2).reshape(b * f, c, h, w)
    big = nn.functional.interpolate(frames, size=(size, size), mode="bilinear", align_corners=False)
    return big.reshape(b, f, c, size, size).transpose(1, 2)


class Stage(str, Enum):
    DECODER = "decoder"  # D (one frame) and D^t (key frames): CLIP image embedding + caption (+ skip)
    INTERPOLATION = "interpolation"  # ↑F: D^t + the masked clip and its mask as input channels
    SUPERRES = "superres"  # SR_l, SR_l^t, SR_h: the upsampled low-resolution frames as input channels


@dataclass(frozen=True)
class StageRecipe:
    stage: Stage
    model: StageConfig
    size: int  # output height and width
    frames: int = 1  # frames per training example (1: the image stages)
    render_size: int = 32  # training clips are rendered at this size and shrunk to `size`
    skips: tuple[int, ...] = (1,)  # D^t: frame skips drawn per clip; ↑F: skips between given frames
    extrapolate: float = 0.0  # ↑F: share of examples whose first frames are given instead
    factor: int = 1  # super-resolution: output size / input size
    condition_noise: float = 0.0  # super-resolution: training adds noise of std ~ U[0, this] to the low-res input
    text: bool = True  # whether the stage reads the caption (the super-resolution stages do not)
    clip: str = "clip-tiny"
    prior: str = "prior-tiny"
    init_from: str | None = None  # the network this one starts from
    widen: int = 0  # condition channels added to init_from's network (↑F: masked RGB + mask)
    freeze_spatial: bool = False  # train only the temporal layers (and the fps embedding)
    data: DatasetConfig = DatasetConfig(world=world_at(32), length=1_000_000, seed=21, holdout=HELD_OUT)
    schedule: ScheduleConfig = ScheduleConfig()
    parameterisation: Parameterisation = Parameterisation.V
    caption_dropout: float = 0.1
    clip_dropout: float = 0.1  # DALL-E 2's decoder drops the CLIP embedding 10% of the time
    sample_steps: int = 25
    eval_samples: int = 256
    eval_seed: int = 4321
    train: TrainConfig = TrainConfig(steps=1000, batch_size=32, lr=1e-3, warmup_steps=100, decay_start=0.5,
                                     min_lr_ratio=0.1, ema_decay=0.995, amp=False)

    def __post_init__(self) -> None:
        if self.render_size % self.size and self.size % self.render_size:
            raise ValueError(f"render size {self.render_size} and output size {self.size} must divide")
        if self.condition_noise < 0:
            raise ValueError(f"condition_noise is a standard deviation, got {self.condition_noise}")
        if self.data.world.height != self.render_size:
            raise ValueError(f"the data are rendered at {self.data.world.height}, the recipe says {self.render_size}")

    @classmethod
    def tiny(cls, stage: Stage = Stage.DECODER, frames: int = 1, **changes) -> StageRecipe:
        """For tests: trains in seconds on the test CLIP (and learns nothing)."""
        factor = changes.get("factor", 1)
        temporal = frames > 1
        model = StageConfig.tiny(temporal=temporal, clip_dim=0 if stage is Stage.SUPERRES else 16,
                                 fps=stage is not Stage.SUPERRES and temporal,
                                 time_caption=stage is not Stage.SUPERRES and temporal,
                                 cond_channels={Stage.DECODER: 0, Stage.INTERPOLATION: 4, Stage.SUPERRES: 3}[stage])
        size = changes.pop("size", 8 * factor)
        render = changes.pop("render_size", max(2 * size // factor, size) if stage is not Stage.SUPERRES else size)
        return cls(stage=stage, model=model, size=size, frames=frames, render_size=render, clip="clip-test",
                   prior="prior-test", text=stage is not Stage.SUPERRES,
                   data=DatasetConfig(world=world_at(render, 9), length=64, holdout=HELD_OUT),
                   sample_steps=2, eval_samples=4, train=TrainConfig.tiny(), **changes)


# ----------------------------------------------------------------------------------------- data


def load_clip(recipe: StageRecipe, device: torch.device | str = "cpu") -> CLIP:
    return prior_recipes.load_clip(recipe.clip, device)


def windows(videos: torch.Tensor, frames: int, skip: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """`frames` frames `skip` apart from each clip `(b, c, F, h, w)`, from a random start; and the
    frame index each window starts at `(b,)`."""
    span = (frames - 1) * skip + 1
    if span > videos.shape[2]:
        raise ValueError(f"{frames} frames {skip} apart need {span} frames; the clips have {videos.shape[2]}")
    starts = torch.randint(0, videos.shape[2] - span + 1, (videos.shape[0],), generator=generator)
    index = starts[:, None] + skip * torch.arange(frames)[None]  # (b, frames)
    picked = torch.stack([videos[i, :, index[i].to(videos.device)] for i in range(videos.shape[0])])
    return picked, starts


def given_mask(frames: int, skip: int | None = None, first: int | None = None) -> torch.Tensor:
    """`(frames,)` bool: the frames ↑F is given. `skip`: every skip-th frame from the first (interpolation,
    `frames - 1` divisible by skip so the last frame is given); `first`: the first frames (extrapolation)."""
    mask = torch.zeros(frames, dtype=torch.bool)
    if skip is not None:
        if (frames - 1) % skip:
            raise ValueError(f"a skip of {skip} does not end on the last of {frames} frames")
        mask[::skip] = True
    elif first is not None:
        if not 0 < first < frames:
            raise ValueError(f"give between 1 and {frames - 1} first frames, got {first}")
        mask[:first] = True
    else:
        raise ValueError("name a skip (interpolation) or a number of first frames (extrapolation)")
    return mask


def masked_input(videos: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """↑F's condition channels `(b, 4, f, h, w)`: the clip with unknown frames zeroed, then the mask."""
    if mask.dim() == 1:
        mask = mask.expand(videos.shape[0], -1)
    m = mask[:, None, :, None, None].to(videos.dtype).to(videos.device)  # (b, 1, f, 1, 1)
    return torch.cat([videos * m, m.expand(-1, -1, -1, *videos.shape[3:])], dim=1)


def draw_masks(recipe: StageRecipe, b: int, generator: torch.Generator) -> torch.Tensor:
    """A given-frames mask per clip `(b, frames)`: interpolation at a random skip, or (with
    probability `extrapolate`) extrapolation from 1 to 3 first frames."""
    rng = random.Random(int(torch.randint(0, 2**31, (1,), generator=generator)))
    masks = []
    for _ in range(b):
        if rng.random() < recipe.extrapolate:
            masks.append(given_mask(recipe.frames, first=rng.randint(1, 3)))
        else:
            masks.append(given_mask(recipe.frames, skip=rng.choice(recipe.skips)))
    return torch.stack(masks)


def condition_embeddings(clip: CLIP, frames: torch.Tensor, generator: torch.Generator, dropout: float) -> torch.Tensor:
    """CLIP embeddings `(b, e)` of one random frame of each clip `(b, c, f, h, w)` at CLIP's size,
    zeroed for a `dropout` share (the null condition of guidance)."""
    index = torch.randint(0, frames.shape[2], (frames.shape[0],), generator=generator).to(frames.device)
    picked = frames[torch.arange(frames.shape[0], device=frames.device), :, index]
    emb = clip.embed_frames(picked)
    keep = (torch.rand(frames.shape[0], generator=generator) >= dropout).to(emb.device)
    return emb * keep[:, None]


def no_text(tokens: torch.Tensor) -> torch.Tensor:
    return torch.full_like(tokens, PAD_ID)


def augment_condition(low: torch.Tensor, max_std: float, generator: torch.Generator) -> torch.Tensor:
    """Noise conditioning augmentation (Ho et al. 2022, cascaded diffusion models): each clip's
    low-resolution input gets Gaussian noise of its own std, drawn uniformly from [0, max_std], so
    the stage learns to work from inputs as imperfect as the previous stage's samples."""
    if max_std <= 0:
        return low
    std = torch.rand(low.shape[0], generator=generator) * max_std
    noise = torch.randn(low.shape, generator=generator)
    return low + (std.view(-1, *[1] * (low.dim() - 1)) * noise).to(low.device, low.dtype)


def make_loss(recipe: StageRecipe):
    schedule = NoiseSchedule(recipe.schedule)
    shrink_by = recipe.render_size // recipe.size

    def loss_fn(model: nn.Module, batch, generator: torch.Generator) -> torch.Tensor:
        video = batch.video  # (b, c, F, render, render)
        b, device = video.shape[0], video.device
        tokens = drop_captions(batch.tokens, recipe.caption_dropout, generator) if recipe.text else no_text(batch.tokens)
        kwargs: dict[str, torch.Tensor] = {}
        if recipe.stage is Stage.SUPERRES:
            x0, _ = windows(video, recipe.frames, 1, generator)  # (b, c, frames, size, size)
            x0 = shrink(x0, shrink_by)
            kwargs["cond"] = enlarge(augment_condition(shrink(x0, recipe.factor), recipe.condition_noise, generator),
                                     recipe.size)
        else:
            skip = torch.tensor(recipe.skips)[torch.randint(0, len(recipe.skips), (b,), generator=generator)]
            if recipe.stage is Stage.INTERPOLATION:
                skip = torch.ones(b, dtype=torch.long)  # ↑F makes every frame: its output's skip is 1
            clips = torch.stack([windows(video[i : i + 1], recipe.frames, int(s), generator)[0][0]
                                 for i, s in enumerate(skip.tolist())])
            with torch.no_grad():
                kwargs["clip"] = condition_embeddings(load_clip(recipe, device), clips, generator, recipe.clip_dropout)
            x0 = shrink(clips, shrink_by)
            if model_config(model).fps:
                kwargs["skip"] = skip.to(device)
            if recipe.stage is Stage.INTERPOLATION:
                kwargs["cond"] = masked_input(x0, draw_masks(recipe, b, generator).to(device))
        return diffusion_loss(lambda x_t, t: model(x_t, t, tokens, **kwargs), x0, schedule, recipe.parameterisation,
                              generator)

    return loss_fn


def model_config(model: nn.Module) -> StageConfig:
    inner = model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model
    return inner.config


# ------------------------------------------------------------------------------------- building


def build_model(recipe: StageRecipe) -> StageUNet:
    if recipe.model.clip_dim:
        embed_dim = store.card(recipe.clip)["recipe"]["model"]["embed_dim"]
        if embed_dim != recipe.model.clip_dim:
            raise ValueError(f"{recipe.clip} embeds in {embed_dim} dimensions; the stage's config says {recipe.model.clip_dim}")
    if recipe.model.temporal != (recipe.frames > 1):
        raise ValueError(f"a stage with {recipe.frames} frames per example needs temporal={recipe.frames > 1}")
    return StageUNet(recipe.model)


def started_from(source: StageUNet, recipe: StageRecipe) -> StageUNet:
    """The network `recipe` trains, made from the one it starts from: inflated (image -> video)
    and/or widened (more condition channels), its added layers at their identity start."""
    model = source
    if recipe.model.temporal and not source.config.temporal:
        model = inflate(model, fps=recipe.model.fps, time_caption=recipe.model.time_caption)
    if recipe.widen:
        model = widen_input(model, recipe.widen)
    if model.config != recipe.model:
        raise ValueError(f"{recipe.init_from} grown is {model.config}, not the recipe's {recipe.model}")
    return model


def initialize(model: StageUNet, recipe: StageRecipe) -> dict | None:
    """Before training: copy the network this stage starts from; freeze its spatial layers where
    the recipe says. What the card records."""
    record = None
    if recipe.init_from is not None:
        model.load_state_dict(started_from(store.load(recipe.init_from, device="cpu"), recipe).state_dict())
        record = {"name": recipe.init_from, "sha256": store.card(recipe.init_from)["sha256"]}
    if recipe.freeze_spatial:
        trainable = freeze_spatial(model)
        record = {**(record or {}), "trainable_parameters": sum(p.numel() for n, p in model.named_parameters() if n in trainable)}
    return record


# ------------------------------------------------------------------------------------- sampling


@torch.no_grad()
def run_stage(model: StageUNet, recipe: StageRecipe, shape: tuple[int, ...], tokens: torch.Tensor,
              seed: int, noise: torch.Tensor | None = None, **kwargs: torch.Tensor) -> torch.Tensor:
    """DDIM from noise `shape` = (n, c, f, h, w) with the stage's conditions; clips in [-1, 1]."""
    device = next(model.parameters()).device
    tokens = tokens.to(device) if recipe.text else no_text(tokens).to(device)
    kwargs = {k: v.to(device) for k, v in kwargs.items()}
    sampler = DDIMSampler(NoiseSchedule(recipe.schedule), recipe.sample_steps, recipe.parameterisation)
    out = sample(sampler, lambda x, t: model(x, t, tokens, **kwargs), shape,
                 generator=torch.Generator().manual_seed(seed), device=device, noise=noise)
    return out.clamp(-1, 1).float().cpu()


def shared_noise(n: int, c: int, f: int, h: int, w: int, seed: int) -> torch.Tensor:
    """One noise image per clip, repeated over its frames: SR_h's initialisation in Make-A-Video."""
    one = torch.randn((n, c, 1, h, w), generator=torch.Generator().manual_seed(seed))
    return one.expand(-1, -1, f, -1, -1).contiguous()


def decode(model: StageUNet, recipe: StageRecipe, prompts: list[str], embeddings: torch.Tensor, seed: int,
           frames: int = KEY_FRAMES, skip: int = KEY_SKIP) -> torch.Tensor:
    """D or D^t: clips `(n, 3, frames, size, size)` from CLIP image embeddings and the captions."""
    tokens = Tokenizer().encode_batch(prompts)
    kwargs = {"clip": embeddings}
    if model.config.fps:
        kwargs["skip"] = torch.full((len(prompts),), skip)
    frames = frames if model.config.temporal else 1
    return run_stage(model, recipe, (len(prompts), 3, frames, recipe.size, recipe.size), tokens, seed, **kwargs)


def interpolate(model: StageUNet, recipe: StageRecipe, prompts: list[str], embeddings: torch.Tensor,
                given: torch.Tensor, mask: torch.Tensor, seed: int) -> torch.Tensor:
    """↑F: every frame of `given` `(n, 3, f, h, w)` where `mask` `(f,)` is False, generated; where it is
    True, taken from `given` (the network redraws them; they are pasted back)."""
    tokens = Tokenizer().encode_batch(prompts)
    kwargs = {"clip": embeddings, "cond": masked_input(given, mask)}
    if model.config.fps:
        kwargs["skip"] = torch.ones(len(prompts), dtype=torch.long)
    out = run_stage(model, recipe, tuple(given.shape), tokens, seed, **kwargs)
    return torch.where(mask[None, None, :, None, None], given, out)


def upscale(model: StageUNet, recipe: StageRecipe, low: torch.Tensor, seed: int, shared: bool = False) -> torch.Tensor:
    """A super-resolution stage: `(n, 3, f, h, w)` -> `(n, 3, f, h * factor, w * factor)`; `shared`: one
    noise image for all frames of a clip."""
    n, c, f, _, _ = low.shape
    shape = (n, c, f, recipe.size, recipe.size)
    noise = shared_noise(*shape, seed=seed) if shared else None
    return run_stage(model, recipe, shape, torch.zeros(n, 1, dtype=torch.long), seed, noise=noise,
                     cond=enlarge(low, recipe.size))


# ----------------------------------------------------------------------------------- measuring


def eval_combinations(n: int) -> list[tuple[str, str, str]]:
    return list(itertools.islice(itertools.cycle(HELD_OUT), n))


def rendered(recipe: StageRecipe, n: int, size: int, frames: int = WORLD.frames) -> torch.Tensor:
    """`(n, 3, frames, size, size)` rendered clips of the held-out prompts, shrunk from at least 32 pixels
    (64 for the 64-pixel stage)."""
    render = max(size, 32)
    clips = render_combinations(eval_combinations(n), recipe.eval_seed, world_at(render, frames))
    return shrink(clips, render // size)


def prior_embeddings(recipe: StageRecipe, prompts: list[str], device: torch.device | str = "cpu") -> torch.Tensor:
    """CLIP image embeddings sampled by the prior for `prompts` (what D and D^t get in the cascade),
    by the prior's default sampler."""
    prior_model = store.load(recipe.prior, device)
    prior_recipe = replace(prior_recipes.PriorRecipe(), model=prior_model.config, clip=recipe.clip)
    return prior_recipes.generate_embeddings(prior_model, prior_recipe, prompts, seed=recipe.eval_seed).cpu()


@torch.no_grad()
def held_out_loss(model: StageUNet, recipe: StageRecipe, n: int = 192, seed: int = 0) -> float:
    """D^t's training loss on rendered key frames of the held-out prompts, fixed noise and times, the
    embedding of each clip's middle key frame: the from-D against from-scratch comparison's number."""
    device = next(model.parameters()).device
    combos = eval_combinations(n)
    clips = render_combinations(combos, seed, world_at(recipe.render_size))[:, :, ::KEY_SKIP]  # (n, 3, 5, 32, 32)
    clip = load_clip(recipe, device)
    emb = clip.embed_frames(clips[:, :, KEY_FRAMES // 2].to(device)).cpu()
    x0 = shrink(clips, recipe.render_size // recipe.size)
    tokens = Tokenizer().encode_batch([prompt(c) for c in combos])
    schedule = NoiseSchedule(recipe.schedule)
    t = ((torch.arange(n) + 0.5) * schedule.num_steps / n).long()[torch.randperm(n, generator=torch.Generator().manual_seed(seed))]
    noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(seed))
    total = 0.0
    for chunk in torch.arange(n).split(32):
        x_t = q_sample(schedule, x0[chunk], t[chunk], noise[chunk])
        kwargs = {"clip": emb[chunk].to(device)}
        if model.config.fps:
            kwargs["skip"] = torch.full((len(chunk),), KEY_SKIP, device=device)
        out = model(x_t.to(device), t[chunk].to(device), tokens[chunk].to(device), **kwargs).float().cpu()
        goal = target(recipe.parameterisation, schedule, x0[chunk], noise[chunk], t[chunk])
        total += nn.functional.mse_loss(out, goal, reduction="sum").item()
    return total / x0.numel()


def evaluate_decoder(model: StageUNet, recipe: StageRecipe) -> dict:
    """D: colour and shape of frames decoded from the prior's embeddings and from rendered frames'
    embeddings. D^t: the judge on 5 key frames (skip 4) decoded from the prior's embeddings."""
    device = next(model.parameters()).device
    combos = eval_combinations(recipe.eval_samples)
    prompts = [prompt(c) for c in combos]
    sampled = prior_embeddings(recipe, prompts, device)
    out: dict = {"eval_samples": len(prompts), "sampler": f"DDIM {recipe.sample_steps} steps, guidance 1"}
    if not model.config.temporal:
        frames = render_combinations(combos, recipe.eval_seed, world_at(recipe.render_size, 1))[:, :, 0]
        truth = load_clip(recipe, device).embed_frames(frames.to(device)).cpu()
        for name, emb in (("prior", sampled), ("frame", truth)):
            images = decode(model, recipe, prompts, emb, recipe.eval_seed)
            scores = caption_accuracy(images, [f"a {c} {s}" for c, s, _ in combos])  # a frame has no motion
            out |= {f"{name}_colour_accuracy": scores.colour, f"{name}_shape_accuracy": scores.shape,
                    f"{name}_object_accuracy": scores.all_correct}
        return out
    keys = decode(model, recipe, prompts, sampled, recipe.eval_seed)
    return out | judged(caption_accuracy(keys, prompts)) | {"held_out_loss": held_out_loss(model, recipe)}


def baselines(given: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
    """What interpolation is measured against: each unknown frame as the linear blend of the given
    frames on either side, or as the nearest given frame (ties: the earlier)."""
    known = mask.nonzero().flatten().tolist()
    blend, nearest = given.clone(), given.clone()
    for k in range(given.shape[2]):
        if mask[k]:
            continue
        before = max((j for j in known if j < k), default=None)
        after = min((j for j in known if j > k), default=None)
        if before is None or after is None:  # extrapolation: both baselines repeat the closest given frame
            j = before if before is not None else after
            blend[:, :, k] = nearest[:, :, k] = given[:, :, j]
            continue
        w = (k - before) / (after - before)
        blend[:, :, k] = (1 - w) * given[:, :, before] + w * given[:, :, after]
        nearest[:, :, k] = given[:, :, before if k - before <= after - k else after]
    return {"blend": blend, "nearest": nearest}


def unknown_psnr(prediction: torch.Tensor, truth: torch.Tensor, mask: torch.Tensor) -> float:
    """PSNR (dB) over the frames that were not given, from the MSE pooled over the batch (a still
    clip's frames copied exactly would otherwise dominate the mean)."""
    return pooled_psnr(prediction[:, :, ~mask], truth[:, :, ~mask])


def evaluate_interpolation(model: StageUNet, recipe: StageRecipe) -> dict:
    """↑F on rendered 9-frame windows of held-out prompts: the PSNR of the frames it fills, against
    linear blending and the nearest given frame, for skips 2, 4, 8 and for extrapolation from the
    first frame; and the judge on the filled clips at skip 4."""
    device = next(model.parameters()).device
    clips = rendered(recipe, recipe.eval_samples, recipe.size, recipe.frames)
    prompts = [prompt(c) for c in eval_combinations(recipe.eval_samples)]
    emb = load_clip(recipe, device).embed_frames(
        rendered(recipe, recipe.eval_samples, recipe.render_size, recipe.frames)[:, :, recipe.frames // 2].to(device)).cpu()
    out: dict = {"eval_samples": len(prompts)}
    cases = [(f"skip_{s}", given_mask(recipe.frames, skip=s)) for s in (2, 4, 8) if (recipe.frames - 1) % s == 0]
    cases.append(("first_1", given_mask(recipe.frames, first=1)))
    for name, mask in cases:
        filled = interpolate(model, recipe, prompts, emb, clips, mask, recipe.eval_seed)
        out[f"{name}_psnr"] = unknown_psnr(filled, clips, mask)
        for base, video in baselines(clips, mask).items():
            out[f"{name}_{base}_psnr"] = unknown_psnr(video, clips, mask)
        if name == "skip_4":
            out |= judged(caption_accuracy(filled, prompts), "skip_4_")
    return out


def evaluate_superres(model: StageUNet, recipe: StageRecipe) -> dict:
    """On rendered held-out clips shrunk by the factor: PSNR against the truth (and bilinear
    upsampling's), frame-difference PSNR, and flicker; a video stage against the image stage it
    came from (the same network without its temporal layers), an image stage with one shared
    noise against independent noise per frame."""
    frames = recipe.frames if model.config.temporal else WINDOW
    truth = rendered(recipe, recipe.eval_samples, recipe.size, frames)
    low = shrink(truth, recipe.factor)
    runs = {"": upscale(model, recipe, low, recipe.eval_seed)}
    if model.config.temporal:
        runs["image_"] = upscale(store.load(recipe.init_from, next(model.parameters()).device), recipe, low, recipe.eval_seed)
    else:
        runs["shared_noise_"] = upscale(model, recipe, low, recipe.eval_seed, shared=True)
    out: dict = {"eval_samples": recipe.eval_samples, "eval_frames": frames,
                 "bilinear_psnr": pooled_psnr(enlarge(low, recipe.size), truth),
                 "rendered_flicker": flicker_per_step(truth).mean().item()}
    for prefix, video in runs.items():
        out[f"{prefix}psnr"] = pooled_psnr(video, truth)  # PSNRs pooled over the batch (see `pooled_psnr`)
        out[f"{prefix}motion_psnr"] = pooled_motion_psnr(video, truth)
        out[f"{prefix}flicker"] = flicker_per_step(video).mean().item()
    return out


def evaluate(model: StageUNet, recipe: StageRecipe) -> dict:
    return {Stage.DECODER: evaluate_decoder, Stage.INTERPOLATION: evaluate_interpolation,
            Stage.SUPERRES: evaluate_superres}[recipe.stage](model, recipe)


# ------------------------------------------------------------------------------------ the stages

CLIP_DIM = 64
_UNET = VDMUNetConfig(channels=(32, 64), conv=ConvKind.INFLATED, temporal_condition=True, max_frames=WORLD.frames)
_SR_UNET = replace(_UNET, channels=(16, 32, 64), cond_channels=3)

DECODER = StageRecipe(stage=Stage.DECODER, model=StageConfig(_UNET, temporal=False, clip_dim=CLIP_DIM), size=16,
                      train=TrainConfig(steps=1500, batch_size=32, lr=1e-3, warmup_steps=100, decay_start=0.5,
                                        min_lr_ratio=0.1, ema_decay=0.995, amp=False))
DECODER_T = replace(DECODER, model=StageConfig(_UNET, temporal=True, clip_dim=CLIP_DIM, fps=True, time_caption=True),
                    frames=KEY_FRAMES, skips=(1, 2, 4), init_from="decoder-tiny", freeze_spatial=True,
                    train=replace(DECODER.train, steps=1500, batch_size=16))
DECODER_T_SCRATCH = replace(DECODER_T, init_from=None, freeze_spatial=False)
DECODER_T_LONG = replace(DECODER_T, train=replace(DECODER_T.train, steps=4500))  # chapter 6's budget in clips seen
INTERPOLATION = replace(DECODER_T, stage=Stage.INTERPOLATION, frames=WINDOW, skips=(2, 4, 8), extrapolate=0.25,
                        model=replace(DECODER_T.model, unet=replace(_UNET, cond_channels=4)), widen=4,
                        init_from="decoder-t-tiny", freeze_spatial=False,
                        train=replace(DECODER.train, steps=800, batch_size=8, lr=5e-4))
SR_LOW = StageRecipe(stage=Stage.SUPERRES, model=StageConfig(_SR_UNET, temporal=False), size=32, factor=2, text=False,
                     data=DatasetConfig(world=world_at(32, WINDOW), length=1_000_000, seed=22, holdout=HELD_OUT),
                     train=replace(DECODER.train, steps=1000, batch_size=32))
SR_LOW_T = replace(SR_LOW, model=StageConfig(_SR_UNET, temporal=True), frames=WINDOW, init_from="sr-low-tiny",
                   freeze_spatial=True, train=replace(SR_LOW.train, steps=600, batch_size=4))
SR_HIGH = replace(SR_LOW, size=64, render_size=64,
                  data=DatasetConfig(world=world_at(64, 1), length=1_000_000, seed=23, holdout=HELD_OUT),
                  train=replace(SR_LOW.train, steps=800, batch_size=16))


# ---------------------------------------------------------------------------------- the cascade


@dataclass(frozen=True)
class CascadeRecipe:
    """`cascade-tiny`: the trained stages joined; nothing of its own to train (0 steps)."""

    prior: str = "prior-tiny"
    decoder: str = "decoder-t-tiny"
    interpolation: str = "interpolation-tiny"
    sr_low: str = "sr-low-t-tiny"
    sr_high: str = "sr-high-tiny"
    shared_noise: bool = True  # SR_h starts every frame of a clip from the same noise, as Make-A-Video
    eval_samples: int = 128  # 128 prompts: the whole run takes about an hour of one CPU core
    noise_samples: int = 32  # of them, clips whose SR_h is run again with the other noise (its cost: 2/3 of the run)
    eval_seed: int = 4321
    batch_clips: int = 32  # clips sampled together (memory)
    train: TrainConfig = TrainConfig(steps=0, batch_size=1, checkpoint_every=0)
    data: DatasetConfig = DatasetConfig(world=WORLD, length=1, holdout=HELD_OUT)  # only to name the final size


STAGES = ("prior", "decoder", "interpolation", "sr_low", "sr_high")


class Cascade(nn.Module):
    """The stages of a cascade, loaded from their checkpoints. Its own file holds nothing: its
    weights are its stages' (each verified by its own card)."""

    def __init__(self, recipe: CascadeRecipe) -> None:
        super().__init__()
        self.recipe = recipe
        self.stages = nn.ModuleDict({stage: store.load(getattr(recipe, stage), device="cpu") for stage in STAGES})
        self.recipes = {stage: store.recipe(getattr(recipe, stage)) for stage in STAGES[1:]}

    def state_dict(self, *args, **kwargs) -> dict:  # the stages are saved, and checked, by their own cards
        return {}

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        if state_dict:
            raise ValueError("a cascade's own file holds no weights; its stages load from their checkpoints")
        return nn.modules.module._IncompatibleKeys([], [])

    def parameter_groups(self, lr: float) -> list[dict]:  # nothing to train
        return [{"params": []}]


def build_cascade(recipe: CascadeRecipe) -> Cascade:
    return Cascade(recipe)


def no_loss(recipe: CascadeRecipe):
    def loss_fn(model, batch, generator):
        raise ValueError("a cascade trains no weights of its own; train its stages")

    return loss_fn


class CascadeOutput(NamedTuple):
    embeddings: torch.Tensor  # (n, e) the prior's CLIP image embeddings
    keys: torch.Tensor  # (n, 3, 5, 16, 16) D^t's key frames
    frames: torch.Tensor  # (n, 3, 17, 16, 16) after ↑F
    low: torch.Tensor  # (n, 3, 17, 32, 32) after SR_l^t
    high: torch.Tensor  # (n, 3, 17, 64, 64) after SR_h: the clip
    seconds: dict[str, float]  # wall seconds of each stage


def window_starts(keys: int = KEY_FRAMES, per_window: int = WINDOW_KEYS) -> list[int]:
    """The first key frame of each window: windows of `per_window` key frames that share their end
    key frames and nothing else (frames between key frames are made once)."""
    if (keys - 1) % (per_window - 1):
        raise ValueError(f"{keys} key frames do not split into windows of {per_window}")
    return list(range(0, keys - 1, per_window - 1))


@torch.no_grad()
def run_cascade(cascade: Cascade, prompts: list[str], seed: int, shared_noise: bool | None = None) -> CascadeOutput:
    """prompt -> P -> D^t key frames -> per window: ↑F, then SR_l^t, then SR_h -> the windows joined."""
    stages, recipes = cascade.stages, cascade.recipes
    shared = cascade.recipe.shared_noise if shared_noise is None else shared_noise
    seconds: dict[str, float] = {}

    def timed(stage: str, fn):
        start = time.perf_counter()
        out = fn()
        seconds[stage] = seconds.get(stage, 0.0) + time.perf_counter() - start
        return out

    prior_model = stages["prior"]
    prior_recipe = replace(prior_recipes.PriorRecipe(), model=prior_model.config, clip=recipes["decoder"].clip)
    emb = timed("prior", lambda: prior_recipes.generate_embeddings(prior_model, prior_recipe, prompts, seed=seed).cpu())
    keys = timed("decoder", lambda: decode(stages["decoder"], recipes["decoder"], prompts, emb, seed))
    frames, low, high = [], [], []
    mask = given_mask(WINDOW, skip=KEY_SKIP)
    for w, start in enumerate(window_starts()):
        given = torch.zeros(len(prompts), 3, WINDOW, keys.shape[3], keys.shape[4])
        given[:, :, ::KEY_SKIP] = keys[:, :, start : start + WINDOW_KEYS]
        f16 = timed("interpolation", lambda: interpolate(stages["interpolation"], recipes["interpolation"], prompts,
                                                         emb, given, mask, seed + 1 + w))
        f32 = timed("sr_low", lambda: upscale(stages["sr_low"], recipes["sr_low"], f16, seed + 101 + w))
        f64 = timed("sr_high", lambda: upscale(stages["sr_high"], recipes["sr_high"], f32, seed + 201 + w, shared=shared))
        drop = 0 if w == 0 else 1  # a window's first key frame is the last of the window before
        frames.append(f16[:, :, drop:])
        low.append(f32[:, :, drop:])
        high.append(f64[:, :, drop:])
    return CascadeOutput(emb, keys, torch.cat(frames, 2), torch.cat(low, 2), torch.cat(high, 2), seconds)


def generate(cascade: Cascade, recipe: CascadeRecipe, prompts: list[str], seed: int = 0) -> torch.Tensor:
    """The final clips `(n, 3, 17, 64, 64)` in [-1, 1], `batch_clips` at a time."""
    return torch.cat([run_cascade(cascade, prompts[i : i + recipe.batch_clips], seed + i).high
                      for i in range(0, len(prompts), recipe.batch_clips)])


def stage_flops(cascade: Cascade) -> dict[str, int]:
    """FLOPs per clip of each stage: one denoiser call on one clip's input, times its sampling steps
    and windows (the prior's are negligible and left out)."""
    stages, recipes = cascade.stages, cascade.recipes
    device = next(cascade.parameters()).device
    windows_ = len(window_starts())
    tokens = torch.ones(1, 6, dtype=torch.long, device=device)
    emb = torch.zeros(1, stages["decoder"].config.clip_dim, device=device)
    one = torch.ones(1, device=device, dtype=torch.long)
    t = torch.tensor([500], device=device)
    size = recipes["decoder"].size

    def calls(stage: str, shape: tuple[int, ...], **kwargs) -> int:
        x = torch.zeros(shape, device=device)
        return count_flops(lambda: stages[stage](x, t, tokens, **kwargs)) * recipes[stage].sample_steps

    high = recipes["sr_high"].size
    return {
        "decoder": calls("decoder", (1, 3, KEY_FRAMES, size, size), clip=emb, skip=one),
        "interpolation": windows_ * calls("interpolation", (1, 3, WINDOW, size, size), clip=emb, skip=one,
                                          cond=torch.zeros(1, 4, WINDOW, size, size, device=device)),
        "sr_low": windows_ * calls("sr_low", (1, 3, WINDOW, 2 * size, 2 * size),
                                   cond=torch.zeros(1, 3, WINDOW, 2 * size, 2 * size, device=device)),
        "sr_high": windows_ * calls("sr_high", (1, 3, WINDOW, high, high), cond=torch.zeros(1, 3, WINDOW, high, high, device=device)),
    }


def single_stage_flops(cascade: Cascade) -> int:
    """FLOPs per clip of one network of D^t's design run at the final size on all 17 frames, for the
    same sampling steps: what the cascade avoids."""
    recipe = cascade.recipes["decoder"]
    model = StageUNet(recipe.model).eval()
    size = cascade.recipes["sr_high"].size
    x = torch.zeros(1, 3, WORLD.frames, size, size)
    return count_flops(lambda: model(x, torch.tensor([500]), torch.ones(1, 6, dtype=torch.long),
                                     clip=torch.zeros(1, recipe.model.clip_dim), skip=torch.ones(1))) * recipe.sample_steps


def seam_flicker(videos: torch.Tensor, starts: list[int]) -> tuple[float, float]:
    """Mean flicker of the frame steps where one window ends and the next begins, and of all other steps."""
    steps = flicker_per_step(videos)  # (n, f - 1)
    seams = [s * KEY_SKIP for s in starts[1:]]  # the step from a window's last frame to the next window's first new one
    other = [k for k in range(steps.shape[1]) if k not in seams]
    return steps[:, seams].mean().item(), steps[:, other].mean().item()


@torch.no_grad()
def evaluate_cascade(cascade: Cascade, recipe: CascadeRecipe) -> dict:
    """The judge on the final clips of `eval_samples` held-out prompts and on each stage's output;
    flicker at window seams; on the first `noise_samples` clips, SR_h with the other noise (the
    cascade's clips judged on the same subset beside it); seconds and FLOPs per stage."""
    combos = eval_combinations(recipe.eval_samples)
    prompts = [prompt(c) for c in combos]
    outs, other_noise, seconds = [], [], {}
    for i in range(0, len(prompts), recipe.batch_clips):
        chunk = prompts[i : i + recipe.batch_clips]
        out = run_cascade(cascade, chunk, recipe.eval_seed + i)
        outs.append(out)
        for k, v in out.seconds.items():
            seconds[k] = seconds.get(k, 0.0) + v
        if i < recipe.noise_samples:  # SR_h again from the same 32-pixel clips with the other noise
            low = out.low[: recipe.noise_samples - i]
            parts = []
            for w, start in enumerate(window_starts()):
                window = low[:, :, start * KEY_SKIP : start * KEY_SKIP + WINDOW]
                up = upscale(cascade.stages["sr_high"], cascade.recipes["sr_high"], window,
                             recipe.eval_seed + i + 201 + w, shared=not recipe.shared_noise)
                parts.append(up[:, :, 0 if w == 0 else 1 :])
            other_noise.append(torch.cat(parts, 2))
    cat = {field: torch.cat([getattr(o, field) for o in outs]) for field in ("keys", "frames", "low", "high")}
    other = torch.cat(other_noise)
    k = len(other)
    n = len(prompts)
    metrics: dict = {"eval_samples": n, "eval_prompts": "held-out colour x shape x motion combinations"}
    metrics |= judged(caption_accuracy(cat["high"], prompts))
    for field, size in (("keys", "key_frames_16"), ("frames", "frames_16"), ("low", "frames_32")):
        metrics |= judged(caption_accuracy(cat[field], prompts), f"{size}_")
    seam, within = seam_flicker(cat["high"], window_starts())
    metrics |= {"seam_flicker": seam, "within_window_flicker": within}
    label = "independent_noise_" if recipe.shared_noise else "shared_noise_"
    metrics["noise_samples"] = k
    metrics |= judged(caption_accuracy(cat["high"][:k], prompts[:k]), "noise_subset_")
    metrics |= judged(caption_accuracy(other, prompts[:k]), label)
    metrics[f"{label}psnr_to_cascade"] = psnr(other, cat["high"][:k]).mean().item()
    metrics |= {f"{k}_s_per_clip": v / n for k, v in seconds.items()}
    metrics["s_per_clip"] = sum(seconds.values()) / n
    flops = stage_flops(cascade)
    metrics |= {f"{k}_flops_per_clip": v for k, v in flops.items()}
    metrics["flops_per_clip"] = sum(flops.values())
    metrics["single_stage_flops_per_clip"] = single_stage_flops(cascade)
    return metrics
