"""Sora's native sizes, measured: `sora-square-tiny` against `sora-native-tiny` (chapter 8).

Both are `t2v-tiny`'s recipe (`reference.recipes.motion.T2V`: the book's video DiT with
cross-attention to the caption, in `vae-causal-tiny`'s latents, v-prediction) trained on the same
clips, drawn at several aspect ratios and durations (`reference.data.native`), for the same steps
and tokens per batch. The only difference is what the model is shown:

- `sora-square-tiny`: every clip centre-cropped to a square first, as a pipeline that trains at one
  aspect ratio does; whatever lay outside the square is gone, sometimes half the object;
- `sora-native-tiny`: every clip whole, at its own size.

Batches of native sizes come from Open-Sora's buckets (one shape per batch, a batch size per
bucket from the token budget) or NaViT's packing (`reference.models.sora.packed_forward`); the
recipe's `batching` picks one, and the card measures the throughput of both. The card measures, at
every aspect ratio trained, at one not trained (48 x 16, portrait) and at a longer duration (17
frames), the judge's accuracy and the framing metric (`reference.metrics.framing`): how often the
object is cut by the frame's edge, and how often it leaves, against rendered clips of the same size.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

import torch
from torch import nn

from .. import store
from ..data import WorldConfig, render_combinations
from ..data.native import BucketBatches, BucketConfig, NativeConfig, NativeDataset, PackedBatches, Shape, cropped
from ..diffusion import NoiseSchedule
from ..diffusion.noise import video_noise
from ..evaluation import HELD_OUT, judged, prompt
from ..metrics.framing import framing
from ..metrics.judge import caption_accuracy
from ..models.sora import packed_forward
from ..models.t2v import VideoDiT
from ..models.vae_causal import CausalVAEConfig
from ..nn.packing import plan
from ..nn.text import drop_captions
from ..train import TrainConfig
from . import motion


class Batching(str, Enum):
    BUCKETS = "buckets"  # Open-Sora: one shape per batch
    PACKED = "packed"  # NaViT: clips of any shapes packed into rows


@dataclass(frozen=True)
class SoraRecipe:
    base: motion.MotionRecipe = motion.T2V  # everything but the data: model, latents, objective, sampler
    native: NativeConfig = NativeConfig(world=WorldConfig(frames=9), seed=7, holdout=HELD_OUT)
    batching: Batching = Batching.BUCKETS
    token_budget: int = 32 * 192  # latent tokens per batch: t2v-tiny's 32 clips of 3 x 8 x 8
    row_length: int = 384  # packed rows (PACKED): room for two 9-frame clips of 1024 pixels
    # each item is a whole batch; 2500 steps: chapter 6's study budget (motion-base learnt motion in it), not
    # t2v-tiny's 4800, so that both models train in one session on the 2-core machine
    train: TrainConfig = dataclasses.replace(motion.T2V.train, batch_size=1, steps=2500)
    eval_shapes: tuple[Shape, ...] = ((9, 32, 32), (9, 24, 40), (9, 40, 24), (9, 16, 48), (9, 48, 16), (17, 24, 40))
    eval_samples: int = 128  # per shape
    eval_seed: int = 2024
    throughput_steps: int = 3  # timed training steps of each batching, for the card

    def __post_init__(self) -> None:
        if self.train.batch_size != 1:
            raise ValueError(f"each training item is a whole batch (its size set by token_budget): batch_size must be 1, "
                             f"got {self.train.batch_size}")

    @classmethod
    def tiny(cls, vae: str, **changes) -> SoraRecipe:
        """For tests: trains in seconds on the named (test) VAE and learns nothing."""
        base = motion.MotionRecipe.tiny(vae=vae)
        native = NativeConfig(sizes=((16, 16), (8, 24)), durations=(5,), world=WorldConfig(frames=5), length=64,
                              holdout=HELD_OUT)
        recipe = cls(base=base, native=native, token_budget=4 * 4 * 4 * 2, row_length=32,
                     train=dataclasses.replace(TrainConfig.tiny(), batch_size=1),
                     eval_shapes=((5, 16, 16), (5, 8, 24), (5, 24, 8)), eval_samples=2, throughput_steps=1)
        return dataclasses.replace(recipe, **changes)

    @property
    def data(self):
        """What `zoo sample` and the statistics of the latents read: the base's 9 x 32 x 32 world."""
        return self.base.data

    @property
    def takes_image(self) -> bool:
        return False

    def sizes(self) -> str:
        return ", ".join(f"{f}x{h}x{w}" for f, h, w in self.native.shapes)


def tokens_of(recipe: SoraRecipe) -> Callable[[Shape], int]:
    """Latent tokens of a clip of shape (f, h, w) under the recipe's VAE (`vae-causal-tiny`: 9 x 32 x 32
    -> 3 x 8 x 8 = 192), read from the VAE's card."""
    config = CausalVAEConfig(**{k: tuple(v) if isinstance(v, list) else v
                                for k, v in store.card(recipe.base.vae)["recipe"]["model"].items()})
    s, tf = config.space_factor, config.time_factor

    def count(shape: Shape) -> int:
        f, h, w = shape
        return (1 + (f - 1) // tf) * (h // s) * (w // s)

    return count


def dataset(recipe: SoraRecipe):
    clips = NativeDataset(recipe.native)
    if recipe.batching is Batching.PACKED:
        return PackedBatches(clips, recipe.token_budget, tokens_of(recipe), seed=recipe.train.seed)
    return BucketBatches(clips, BucketConfig(token_budget=recipe.token_budget, tokens_of=tokens_of(recipe)),
                         seed=recipe.train.seed)


def build_model(recipe: SoraRecipe) -> VideoDiT:
    return motion.build_model(recipe.base)


def initialize(model: VideoDiT, recipe: SoraRecipe) -> dict | None:
    return motion.initialize(model, recipe.base)


def make_loss(recipe: SoraRecipe):
    """Buckets: t2v-tiny's loss on a batch of one shape. Packed: the same loss, each clip encoded,
    noised and timed on its own, all denoised in one packed forward, the error averaged over every
    latent value of every clip."""
    if recipe.batching is Batching.BUCKETS:
        return motion.make_loss(recipe.base)
    schedule = NoiseSchedule(recipe.base.schedule)
    encoder = motion.Encoder(recipe.base)

    def loss_fn(model: nn.Module, samples, generator: torch.Generator) -> torch.Tensor:
        inner = getattr(model, "module", model)
        tokens = drop_captions(torch.stack([s.tokens for s in samples]), recipe.base.caption_dropout, generator)
        inputs, times, goals = [], [], []
        for s in samples:
            x0 = encoder.encode(inner, s.video[None].to(next(inner.parameters()).device))
            t = motion.draw_times(recipe.base, schedule, 1, x0.shape[2], generator)
            noise = video_noise(tuple(x0.shape), recipe.base.noise, recipe.base.noise_alpha, generator).to(x0)
            x_t, net_t, goal = motion.noised(recipe.base, schedule, x0, noise, t.to(x0.device))
            inputs.append(x_t[0])
            times.append(net_t)
            goals.append(goal[0])
        out, _ = packed_forward(inner, inputs, torch.cat(times).to(tokens.device).float(), tokens.to(inputs[0].device),
                                recipe.row_length)
        return nn.functional.mse_loss(torch.cat([o.flatten() for o in out]), torch.cat([g.flatten() for g in goals]))

    return loss_fn


def at_shape(recipe: SoraRecipe, shape: Shape) -> motion.MotionRecipe:
    """The base recipe generating clips of `shape` (frames, height, width)."""
    f, h, w = shape
    if (f - 1) % 4 or h % 4 or w % 4:
        raise ValueError(f"clips of {f}x{h}x{w} do not fit the VAE: frames 1 + 4k, height and width multiples of 4; "
                         f"trained at {recipe.sizes()}")
    world = dataclasses.replace(recipe.base.data.world, frames=f, height=h, width=w)
    return dataclasses.replace(recipe.base, data=dataclasses.replace(recipe.base.data, world=world))


def generate(model: VideoDiT, recipe: SoraRecipe, prompts: list[str], seed: int = 0, frames: int | None = None,
             height: int | None = None, width: int | None = None) -> torch.Tensor:
    """Clips `(n, 3, frames, height, width)` in [-1, 1]; by default 9 x 32 x 32."""
    world = recipe.base.data.world
    shape = (frames or world.frames, height or world.height, width or world.width)
    return motion.generate(model, at_shape(recipe, shape), prompts, seed=seed)


def _throughput(model: VideoDiT, recipe: SoraRecipe) -> dict[str, float]:
    """Clips and tokens per second of a few training steps (forward, backward) of each batching on
    copies of the model, and the padding share of packed rows."""
    out: dict[str, float] = {}
    for batching in Batching:
        r = dataclasses.replace(recipe, batching=batching)
        data, loss_fn = dataset(r), make_loss(r)
        trial = VideoDiT(model.config).to(next(model.parameters()).device)
        trial.load_state_dict(model.state_dict())
        trial.train()
        generator = torch.Generator().manual_seed(0)
        clips = tokens = 0
        padding = []
        start = time.perf_counter()
        for i in range(recipe.throughput_steps):
            batch = data[i]
            shapes = [tuple(v.shape[1:]) for v in batch.video] if batching is Batching.BUCKETS else \
                [tuple(s.video.shape[1:]) for s in batch]
            with torch.enable_grad():  # (evaluate runs without gradients)
                loss_fn(trial, batch, generator).backward()
            trial.zero_grad(set_to_none=True)
            clips += len(shapes)
            tokens += sum(tokens_of(r)(s) for s in shapes)
            if batching is Batching.PACKED:
                padding.append(plan([tokens_of(r)(s) for s in shapes], r.row_length).padding_share())
        seconds = time.perf_counter() - start
        out[f"{batching.value}_clips_per_s"] = clips / seconds
        out[f"{batching.value}_tokens_per_s"] = tokens / seconds
        if padding:
            out["packed_padding_share"] = sum(padding) / len(padding)
    return out


def _eval_prompts(n: int) -> list[str]:
    return [prompt(HELD_OUT[i % len(HELD_OUT)]) for i in range(n)]


@torch.no_grad()
def evaluate(model: VideoDiT, recipe: SoraRecipe) -> dict:
    """At each of `eval_shapes`: the judge and the framing metric on `eval_samples` samples of the
    held-out prompts, and the framing of rendered clips of the same prompts and shape (what the
    metric reads on clips that are whole by construction); the training throughput of both batchings."""
    prompts = _eval_prompts(recipe.eval_samples)
    combos = [HELD_OUT[i % len(HELD_OUT)] for i in range(recipe.eval_samples)]
    trained = {cropped(s, recipe.native.square) for s in recipe.native.shapes}
    metrics: dict = {"eval_samples_per_shape": recipe.eval_samples, "trained_shapes": sorted(trained)}
    for shape in recipe.eval_shapes:
        key = "x".join(str(v) for v in shape)
        start = time.perf_counter()
        videos = generate(model, recipe, prompts, seed=recipe.eval_seed, frames=shape[0], height=shape[1], width=shape[2])
        seconds = time.perf_counter() - start
        f, h, w = shape
        rendered = render_combinations(combos, recipe.eval_seed, dataclasses.replace(recipe.native.world, frames=f, height=h, width=w))
        sampled, truth = framing(videos), framing(rendered)
        metrics |= judged(caption_accuracy(videos, prompts), f"{key}_")
        metrics |= {f"{key}_cut": sampled.cut, f"{key}_leaves": sampled.leaves, f"{key}_rendered_cut": truth.cut,
                    f"{key}_rendered_leaves": truth.leaves, f"{key}_s_per_clip": seconds / len(prompts),
                    f"{key}_trained": shape in trained}
    metrics["cut"] = sum(metrics[f"{'x'.join(map(str, s))}_cut"] for s in recipe.eval_shapes) / len(recipe.eval_shapes)
    metrics |= _throughput(model, recipe)
    return metrics


# The two zoo models: one recipe, one change.
NATIVE = SoraRecipe()
SQUARE = dataclasses.replace(NATIVE, native=dataclasses.replace(NATIVE.native, square=True))
