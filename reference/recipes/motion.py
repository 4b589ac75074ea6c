"""Chapter 6's motion study: what makes a tiny text-to-video diffusion model learn its motion word.

Every row of the study is one `MotionRecipe`, one change away from the base (`row("base")`): a 1.3M-parameter DiT
(`reference.models.t2v`) with full 3D attention, in the latents of chapter 5's causal VAE
(`vae-causal-tiny`: 9 x 32 x 32 clips to 3 x 8 x 8 x 4, 192 tokens), latents normalised per
channel, v-prediction on the cosine schedule, one noise level per clip, independent noise per
frame, the pooled caption in adaLN. The levers (`ROWS`):

- attention: full 3D (CogVideoX) against divided spatial/temporal blocks (Latte, variant 1);
- noise prior: PYoCo's mixed and progressive noise (`reference.diffusion.noise`), in training
  and sampling;
- noise levels: one per frame in training (Diffusion Forcing), sampled with one level for all;
- objective: rectified flow with logit-normal times (SD3, Wan) against DDPM's v-prediction;
- caption: per-word cross-attention (Wan) on top of the pooled caption;
- space: the same DiT on pixels (patch 4, 576 tokens) against latents;
- batch: 4x the batch at the same clips seen (a quarter of the steps);
- an upper bound: the first frame given (clean, as ConsistI2V substitutes it), so what is left
  to generate is the motion.

The same recipe trains chapter 8's small CogVideoX and Wan (`COGVIDEOX`, `WAN`): only the
denoiser and its objective change (the `model` field takes any of the three configs); both
sample with guidance 2, the best scale of the sweep their cards record.

Every row has the same data (seed, held-out prompts), sampler budget (25 steps, guidance 1) and
*CPU* budget: its step count is the study's CPU minutes divided by the row's measured seconds per
step on one thread of the 2-core machine (`CPU_S_PER_STEP`). Each card also carries a learning
curve: the judge on `curve_samples` held-out samples every `curve_every` steps, always sampled
without guidance, so curves compare across recipes.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import NamedTuple

import torch
from torch import nn

from .. import evaluation, store
from ..data import Batch, DatasetConfig, ShapesDataset, Tokenizer, WorldConfig, collate, render_combinations
from ..diffusion import DDIMSampler, NoiseSchedule, Parameterisation, ScheduleConfig, expand_as, guided
from ..diffusion.flow import TIME_SCALE, euler_sample, interpolate, logit_normal, velocity
from ..diffusion.noise import NoisePrior, video_noise
from ..evaluation import HELD_OUT, Combination, prompt
from ..metrics.cost import count_flops
from ..metrics.judge import caption_accuracy
from ..models.cogvideox import CogVideoX, CogVideoXConfig
from ..models.latte import Latte, LatteConfig
from ..models.t2v import AttentionKind, CaptionKind, VideoDiT, VideoDiTConfig
from ..models.vae_causal import CausalVAE
from ..models.wan import Wan, WanConfig
from ..nn.text import drop_captions
from ..train import TrainConfig


class Space(str, Enum):
    LATENT = "latent"  # the causal VAE's latents, patch 1
    PIXEL = "pixel"  # RGB frames, patch 4


class Objective(str, Enum):
    V = "v"  # DDPM, cosine schedule, v-prediction, DDIM sampling
    FLOW = "flow"  # rectified flow, logit-normal times, Euler sampling


class Timesteps(str, Enum):
    SHARED = "shared"  # one noise level per clip
    PER_FRAME = "per_frame"  # one per frame, drawn independently (Diffusion Forcing)


@dataclass(frozen=True)
class MotionRecipe:
    model: VideoDiTConfig | CogVideoXConfig | WanConfig | LatteConfig = VideoDiTConfig()  # 1.28M parameters, joint attention, pooled caption
    space: Space = Space.LATENT
    vae: str = "vae-causal-tiny"  # the frozen autoencoder of LATENT rows
    objective: Objective = Objective.V
    schedule: ScheduleConfig = ScheduleConfig()  # cosine, T = 1000
    noise: NoisePrior = NoisePrior.INDEPENDENT
    noise_alpha: float = 1.0  # PYoCo's alpha (mixed: 1, progressive: 2 in the paper)
    timesteps: Timesteps = Timesteps.SHARED
    first_frame_given: bool = False  # the upper bound: frame 1 clean in training and sampling
    flow_shift: float = 1.0  # SD3's sampling-time shift (flow rows)
    data: DatasetConfig = DatasetConfig(
        world=WorldConfig(frames=9, height=32, width=32), length=1_000_000, seed=7, holdout=HELD_OUT
    )
    train: TrainConfig = TrainConfig(
        steps=2400, batch_size=32, lr=1e-3, warmup_steps=100, decay_start=0.5, min_lr_ratio=0.1, ema_decay=0.995,
        amp=False, checkpoint_every=200,
    )
    caption_dropout: float = 0.1
    sample_steps: int = 25
    guidance_scale: float = 1.0
    statistics_clips: int = 256  # clips whose latents set the per-channel mean and std
    eval_samples: int = 256
    eval_seed: int = 1234
    curve_every: int = 300  # steps between learning-curve points (0: none)
    curve_samples: int = 60  # held-out samples judged at each point
    guidance_sweep: tuple[float, ...] = ()  # guidance scales the card also judges, on curve_samples samples each

    @classmethod
    def tiny(cls, vae: str = "vae-causal-tiny", **changes) -> "MotionRecipe":
        """For tests: trains in seconds on the named (test) VAE and learns nothing."""
        base = cls(
            model=VideoDiTConfig.tiny(), vae=vae,
            data=DatasetConfig(world=WorldConfig(frames=5, height=16, width=16), length=64, holdout=HELD_OUT),
            train=TrainConfig.tiny(), sample_steps=2, statistics_clips=4, eval_samples=4, curve_every=2, curve_samples=2,
        )
        return dataclasses.replace(base, **changes)

    @property
    def takes_image(self) -> bool:
        """Whether sampling needs a given first frame (`zoo sample --image`)."""
        return self.first_frame_given

    @property
    def per_frame_times(self) -> bool:
        return self.timesteps is Timesteps.PER_FRAME or self.first_frame_given


# Seconds per training step on one thread of the 2-core CPU (torch 2.13, fp32), measured by
# `profile_cpu` with a few steps of each row after warm-up; the study gives every row the same
# CPU minutes, so a row's steps are STUDY_CPU_MINUTES * 60 / its seconds per step.
STUDY_CPU_MINUTES = 40
CPU_S_PER_STEP: dict[str, float] = {
    "base": 0.95, "divided": 0.90, "mixed": 0.93, "progressive": 0.94, "forcing": 0.96, "flow": 0.87,
    "cross": 1.11, "pixel": 3.41, "batch128": 4.26, "first-frame": 0.98,
}

# row -> the change against the base (the recipe fields it replaces).
ROWS: dict[str, dict] = {
    "base": {},
    "divided": {"model": dataclasses.replace(VideoDiTConfig(), attention=AttentionKind.DIVIDED)},
    "mixed": {"noise": NoisePrior.MIXED, "noise_alpha": 1.0},
    "progressive": {"noise": NoisePrior.PROGRESSIVE, "noise_alpha": 2.0},
    "forcing": {"timesteps": Timesteps.PER_FRAME},
    "flow": {"objective": Objective.FLOW},
    "cross": {"model": dataclasses.replace(VideoDiTConfig(), caption=CaptionKind.CROSS)},
    "pixel": {"space": Space.PIXEL, "model": dataclasses.replace(VideoDiTConfig(), in_channels=3, patch=4)},
    "batch128": {"train_batch": 128},
    "first-frame": {"first_frame_given": True},
}


def row(name: str, steps: int | None = None) -> MotionRecipe:
    """The recipe of one study row, with the step count its CPU budget buys (or `steps`)."""
    if name not in ROWS:
        raise ValueError(f"unknown motion-study row {name!r}; expected one of {sorted(ROWS)}")
    changes = dict(ROWS[name])
    batch = changes.pop("train_batch", MotionRecipe.train.batch_size)
    if steps is None:
        steps = study_steps(name)
    train = dataclasses.replace(MotionRecipe.train, batch_size=batch, steps=steps)
    curve_every = max(1, round(steps / 8 / 50) * 50)
    return dataclasses.replace(MotionRecipe(), train=train, curve_every=curve_every, **changes)


def describe(name: str) -> str:
    """What a row changes against the base, in words: `field = value` for every changed field."""
    base, recipe = row("base", steps=1), row(name, steps=1)
    changes = []
    for field in dataclasses.fields(MotionRecipe):
        if field.name in ("train", "curve_every"):
            continue
        old, new = getattr(base, field.name), getattr(recipe, field.name)
        if dataclasses.is_dataclass(new):
            changes += [f"{field.name}.{f.name} = {getattr(getattr(new, f.name), 'value', getattr(new, f.name))}"
                        for f in dataclasses.fields(new) if getattr(new, f.name) != getattr(old, f.name)]
        elif new != old:
            changes.append(f"{field.name} = {getattr(new, 'value', new)}")
    if recipe.train.batch_size != base.train.batch_size:
        changes.append(f"batch = {recipe.train.batch_size}")
    return ", ".join(changes) or "nothing (the base)"


def study_steps(name: str) -> int:
    """Steps the study's CPU minutes buy for this row (rounded to 50)."""
    seconds = CPU_S_PER_STEP.get(name)
    if seconds is None:
        return MotionRecipe.train.steps
    return max(50, int(STUDY_CPU_MINUTES * 60 / seconds / 50) * 50)


# The book's text-to-video model, chapter 6's answer: the study's base with per-word cross-attention
# to the caption, trained for about twice the study's CPU budget (see the chapter for why).
T2V = dataclasses.replace(
    MotionRecipe(), model=dataclasses.replace(VideoDiTConfig(), caption=CaptionKind.CROSS),
    train=dataclasses.replace(MotionRecipe.train, steps=4800), curve_every=400,
)


# Chapter 8: CogVideoX and Wan, small, trained by the recipe of `t2v-tiny` (the study's answer:
# causal-VAE latents, full 3D attention, batch 32, the same steps). What each paper changes:
# CogVideoX, v-prediction on a zero-terminal-SNR schedule sampled with trailing DDIM steps;
# Wan, rectified flow with logit-normal times and Euler sampling.
# Both sample with classifier-free guidance at scale 2, the best of the card's sweep (1, 2, 3, 5) on
# 60 held-out samples for both trained models; the papers' pipelines use 6 (CogVideoX) and 5 (Wan).
GUIDED = {"guidance_scale": 2.0, "guidance_sweep": (1.0, 2.0, 3.0, 5.0)}
COGVIDEOX = dataclasses.replace(
    T2V, model=CogVideoXConfig(), schedule=dataclasses.replace(ScheduleConfig(), zero_terminal_snr=True), **GUIDED,
)
WAN = dataclasses.replace(T2V, model=WanConfig(), objective=Objective.FLOW, **GUIDED)
# CogVideoX's two design claims, each one change off `COGVIDEOX` at its budget: separate spatial and
# temporal attention instead of full 3D attention, and one modulation for text and video tokens.
# They sample as `cogvideox-tiny` does, without its sweep.
COGVIDEOX_ABLATIONS = {
    "divided": dataclasses.replace(COGVIDEOX, model=CogVideoXConfig(attention=AttentionKind.DIVIDED), guidance_sweep=()),
    "shared-adaln": dataclasses.replace(COGVIDEOX, model=CogVideoXConfig(expert=False), guidance_sweep=()),
}

Denoiser = VideoDiT | CogVideoX | Wan | Latte


def build_model(recipe: MotionRecipe) -> Denoiser:
    if isinstance(recipe.model, CogVideoXConfig):
        return CogVideoX(recipe.model)
    if isinstance(recipe.model, WanConfig):
        return Wan(recipe.model)
    if isinstance(recipe.model, LatteConfig):
        if recipe.space is Space.LATENT and not recipe.model.latents:
            raise ValueError("a Latte model in latents needs LatteConfig(latents=True), which keeps the latent statistics")
        return Latte(recipe.model)
    return VideoDiT(recipe.model)


def load_vae(name: str, device: torch.device | str = "cpu") -> CausalVAE:

    return store.load_frozen(name, CausalVAE, "a latent video diffusion model (causal VAE latents)", device)


def initialize(model: Denoiser, recipe: MotionRecipe) -> dict | None:
    """LATENT rows: measure the per-channel latent mean and std on `statistics_clips` training clips."""
    if recipe.space is Space.PIXEL:
        return None

    vae = load_vae(recipe.vae)
    if vae.config.latent_channels != recipe.model.in_channels:
        raise ValueError(f"{recipe.vae} makes {vae.config.latent_channels}-channel latents; "
                         f"the denoiser takes {recipe.model.in_channels}")
    data = ShapesDataset(recipe.data)
    videos = collate([data[i] for i in range(recipe.statistics_clips)]).video
    with torch.no_grad():
        latents = torch.cat([vae.encode(chunk)[0] for chunk in videos.split(32)])
    return {"vae": {"name": recipe.vae, "sha256": store.card(recipe.vae)["sha256"]},
            **model.fit_latent_statistics(latents)}


class Encoder:
    """Clips in [-1, 1] to what the denoiser learns: normalised VAE latent means, or the pixels."""

    def __init__(self, recipe: MotionRecipe) -> None:
        self.recipe = recipe
        self.vaes: dict[torch.device, CausalVAE] = {}  # loaded once per device, on first use

    def vae(self, device: torch.device) -> CausalVAE:
        if device not in self.vaes:
            self.vaes[device] = load_vae(self.recipe.vae, device)
        return self.vaes[device]

    def shape(self, n: int, device: torch.device) -> tuple[int, int, int, int, int]:
        """The shape of n clips as the denoiser sees them: VAE latents, or the pixels."""
        world = self.recipe.data.world
        if self.recipe.space is Space.PIXEL:
            return (n, 3, world.frames, world.height, world.width)
        config = self.vae(device).config
        s, tf = config.space_factor, config.time_factor
        return (n, config.latent_channels, 1 + (world.frames - 1) // tf, world.height // s, world.width // s)

    @torch.no_grad()
    def encode(self, model: Denoiser, videos: torch.Tensor) -> torch.Tensor:
        if self.recipe.space is Space.PIXEL:
            return videos
        return model.normalise(self.vae(videos.device).encode(videos)[0].float())

    @torch.no_grad()
    def decode(self, model: Denoiser, x: torch.Tensor) -> torch.Tensor:
        if self.recipe.space is Space.PIXEL:
            return x.clamp(-1, 1)
        vae = self.vae(x.device)
        return torch.cat([vae.decode(chunk).clamp(-1, 1) for chunk in model.denormalise(x).split(32)])


def noised(recipe: MotionRecipe, schedule: NoiseSchedule, x0: torch.Tensor, noise: torch.Tensor,
           t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(x_t, the network's time input, the regression target) for times `t`: integer DDPM steps, or
    flow times in [0, 1]; `(b,)` or `(b, f)`. With the first frame given, frame 1 stays clean."""
    if recipe.objective is Objective.FLOW:
        x_t, goal, net_t = interpolate(x0, noise, t), velocity(x0, noise), t * TIME_SCALE
    else:
        a = expand_as(schedule.alpha_bar(t), x0)
        x_t = a.sqrt() * x0 + (1 - a).sqrt() * noise
        goal, net_t = a.sqrt() * noise - (1 - a).sqrt() * x0, t  # v (Salimans & Ho, 2022)
    if recipe.first_frame_given:
        x_t = torch.cat([x0[:, :, :1], x_t[:, :, 1:]], dim=2)
    return x_t, net_t, goal


def draw_times(recipe: MotionRecipe, schedule: NoiseSchedule, b: int, f: int, generator: torch.Generator) -> torch.Tensor:
    """Training times: `(b,)` one per clip or `(b, f)` one per frame; frame 1 at 0 when it is given."""
    n = b * f if recipe.per_frame_times else b
    if recipe.objective is Objective.FLOW:
        t = logit_normal(n, generator)
    else:
        t = torch.randint(0, schedule.num_steps, (n,), generator=generator)
    if not recipe.per_frame_times:
        return t
    t = t.view(b, f)
    if recipe.first_frame_given:
        t[:, 0] = 0
    return t


def regression_loss(recipe: MotionRecipe, prediction: torch.Tensor, goal: torch.Tensor) -> torch.Tensor:
    """Mean squared error, over the frames the model must generate (all, or 2..F when frame 1 is given)."""
    if recipe.first_frame_given:
        prediction, goal = prediction[:, :, 1:], goal[:, :, 1:]
    return nn.functional.mse_loss(prediction.float(), goal.float())


def make_loss(recipe: MotionRecipe):
    schedule = NoiseSchedule(recipe.schedule)
    encoder = Encoder(recipe)

    def loss_fn(model: nn.Module, batch: Batch, generator: torch.Generator) -> torch.Tensor:
        inner = getattr(model, "module", model)  # DDP wraps the model
        x0 = encoder.encode(inner, batch.video)  # (b, c, f, h, w)
        b, _, f = x0.shape[:3]
        tokens = drop_captions(batch.tokens, recipe.caption_dropout, generator)
        t = draw_times(recipe, schedule, b, f, generator)
        noise = video_noise(tuple(x0.shape), recipe.noise, recipe.noise_alpha, generator).to(x0)
        x_t, net_t, goal = noised(recipe, schedule, x0, noise, t.to(x0.device))
        return regression_loss(recipe, model(x_t, net_t.to(x0.device), tokens), goal)

    return loss_fn


def first_frames(recipe: MotionRecipe, combinations: list[Combination], seed: int) -> torch.Tensor:
    """Rendered clips of the combinations (seeded): the condition of the first-frame upper bound."""
    return render_combinations(combinations, seed, recipe.data.world)


class Chunk(NamedTuple):
    """What `generate` samples one batch with: the denoiser `(x, t, tokens) -> prediction` with
    whatever else it takes bound (an image condition, chapter 7), the latents sampling starts from,
    and the clean first-frame latents held fixed at time 0 (None: every frame is generated)."""

    denoiser: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
    start: torch.Tensor
    first: torch.Tensor | None = None


Prepare = Callable[[slice, torch.Tensor], Chunk]  # (the batch's rows, its noise) -> what it samples with


@torch.no_grad()
def generate(model: Denoiser, recipe: MotionRecipe, prompts: list[str], seed: int = 0, batch_size: int = 64,
             given: torch.Tensor | None = None, clip_x0: bool | None = None,
             prepare: Prepare | None = None) -> torch.Tensor:
    """Clips `(n, 3, f, h, w)` in [-1, 1] for the prompts; deterministic given the seed. `given`:
    clips whose first frame conditions a first-frame model (required for such a model). `clip_x0`:
    clamp DDIM's x0 estimate to [-1, 1] at every step; right for pixels (the default there), wrong
    for latents, whose values are not bounded that way (chapter 6 measures what it costs).
    `prepare`: what each batch samples with (`Chunk`), for models that take more than words;
    by default the model itself from the drawn noise, with `given`'s first frame for a first-frame model."""
    if recipe.first_frame_given and given is None and prepare is None:
        raise ValueError("this model generates frames 2..F from a given first frame: pass `given` clips")
    device = next(model.parameters()).device
    encoder = Encoder(recipe)
    schedule = NoiseSchedule(recipe.schedule)
    tokenizer = Tokenizer()
    generator = torch.Generator().manual_seed(seed)

    def plain(rows: slice, noise: torch.Tensor) -> Chunk:
        first = encoder.encode(model, given[rows].to(device))[:, :, :1] if recipe.first_frame_given else None
        return Chunk(model, noise, first)

    out = []
    for start in range(0, len(prompts), batch_size):
        rows = slice(start, start + batch_size)
        tokens = tokenizer.encode_batch(prompts[rows]).to(device)
        shape = encoder.shape(len(prompts[rows]), device)
        chunk = (prepare or plain)(rows, video_noise(shape, recipe.noise, recipe.noise_alpha, generator).to(device))
        model_fn = guided(chunk.denoiser, tokens, torch.zeros_like(tokens), recipe.guidance_scale)
        first = chunk.first

        def call(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            """The model at times `t` `(n,)`; with a given first frame, frame 1 is clean at time 0."""
            if first is None:
                return model_fn(x, t)
            times = t[:, None].repeat(1, x.shape[2])  # (n, f)
            times[:, 0] = 0
            return model_fn(torch.cat([first, x[:, :, 1:]], dim=2), times)

        x = chunk.start
        if recipe.objective is Objective.FLOW:
            x = euler_sample(call, x, recipe.sample_steps, recipe.flow_shift)
        else:
            clip = recipe.space is Space.PIXEL if clip_x0 is None else clip_x0
            sampler = DDIMSampler(schedule, recipe.sample_steps, Parameterisation.V, clip_x0=clip,
                                  trailing=recipe.schedule.zero_terminal_snr)  # start at T-1, where alpha_bar = 0
            for t in sampler.timesteps.tolist():
                x = sampler.step(call(x, torch.full((x.shape[0],), float(t), device=device)), t, x).prev_sample
        if first is not None:
            x = torch.cat([first, x[:, :, 1:]], dim=2)
        out.append(encoder.decode(model, x).cpu())
    return torch.cat(out)


def eval_set(recipe: MotionRecipe, n: int, clips: bool | None = None) -> tuple[list[str], torch.Tensor | None]:
    """n held-out prompts (cycling) and rendered clips of them (seeded by `eval_seed`), whose first
    frame a model is given; `clips` by default only for a first-frame model."""
    holdout = recipe.data.holdout or HELD_OUT
    combinations = list(itertools.islice(itertools.cycle(holdout), n))
    wanted = recipe.first_frame_given if clips is None else clips
    given = first_frames(recipe, combinations, recipe.eval_seed) if wanted else None
    return [prompt(c) for c in combinations], given


@torch.no_grad()
def held_out_loss(model: Denoiser, recipe: MotionRecipe, clips_per_prompt: int = 16, seed: int = 0) -> float:
    """The row's own training loss on rendered clips of the held-out prompts, with fixed noise and
    one time per clip spread evenly (comparable along a row's training; across rows only within
    one objective)."""
    holdout = recipe.data.holdout or HELD_OUT
    combinations = [c for c in holdout for _ in range(clips_per_prompt)]
    device = next(model.parameters()).device
    clips = first_frames(recipe, combinations, seed).to(device)
    tokens = Tokenizer().encode_batch([prompt(c) for c in combinations]).to(device)
    schedule, encoder = NoiseSchedule(recipe.schedule), Encoder(recipe)
    x0 = encoder.encode(model, clips)
    n, f = x0.shape[0], x0.shape[2]
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(n, generator=generator)
    spread = (torch.arange(n) + 0.5) / n
    t = spread[order] if recipe.objective is Objective.FLOW else (spread * schedule.num_steps).long()[order]
    if recipe.per_frame_times:
        t = t[:, None].repeat(1, f)
        if recipe.first_frame_given:
            t[:, 0] = 0
    noise = video_noise(tuple(x0.shape), recipe.noise, recipe.noise_alpha, generator).to(device)
    x_t, net_t, goal = noised(recipe, schedule, x0, noise, t.to(device))
    total = 0.0
    for chunk in torch.arange(n).split(32):
        total += regression_loss(recipe, model(x_t[chunk], net_t[chunk].to(device), tokens[chunk]), goal[chunk]).item() * len(chunk)
    return total / n


def forward_flops(model: Denoiser, recipe: MotionRecipe) -> int:
    """FLOPs of one denoiser call on one clip (PyTorch's counter)."""
    device = next(model.parameters()).device
    x = torch.zeros(Encoder(recipe).shape(1, device), device=device)
    t = torch.zeros(1, device=device)
    tokens = torch.zeros(1, 6, dtype=torch.long, device=device)
    return count_flops(lambda: model(x, t, tokens))


def _judge_few(model: Denoiser, recipe: MotionRecipe) -> dict[str, float]:
    """The judge on `curve_samples` held-out samples, sampled at the recipe's guidance."""
    prompts, given = eval_set(recipe, recipe.curve_samples)
    scores = caption_accuracy(generate(model, recipe, prompts, seed=recipe.eval_seed, given=given), prompts)
    return {"colour": scores.colour, "shape": scores.shape, "motion": scores.motion, "all_correct": scores.all_correct}


def curve_point(model: Denoiser, recipe: MotionRecipe) -> dict[str, float]:
    """One point of the learning curve: the judge on `curve_samples` held-out samples, always without
    guidance (scale 1), so that the curves of recipes that sample at different scales compare."""
    return _judge_few(model, dataclasses.replace(recipe, guidance_scale=1.0))


def guidance_sweep(model: Denoiser, recipe: MotionRecipe) -> list[dict[str, float]]:
    """The judge on `curve_samples` held-out samples at each scale of `guidance_sweep` (same seed)."""
    return [{"guidance": scale, **_judge_few(model, dataclasses.replace(recipe, guidance_scale=scale))}
            for scale in recipe.guidance_sweep]


def evaluate(model: Denoiser, recipe: MotionRecipe) -> dict[str, float | int | str]:
    """The judge on `eval_samples` held-out samples (per attribute, per frame, flicker, persistence),
    sampling time, held-out loss and FLOPs per call."""
    prompts, given = eval_set(recipe, recipe.eval_samples)
    videos, timing = evaluation.timed(lambda: generate(model, recipe, prompts, seed=recipe.eval_seed, given=given), model)
    return {
        **evaluation.judged(caption_accuracy(videos, prompts)),
        **evaluation.by_frame(videos, prompts),
        **timing,
        "held_out_loss": held_out_loss(model, recipe),
        "flops_per_call": forward_flops(model, recipe),
        "eval_samples": len(prompts),
        "eval_prompts": "held-out colour x shape x motion combinations" + (", first frame given" if given is not None else ""),
        "sampler": f"{'Euler' if recipe.objective is Objective.FLOW else 'DDIM'} {recipe.sample_steps} steps, guidance {recipe.guidance_scale}",
        **({"guidance_sweep": guidance_sweep(model, recipe)} if recipe.guidance_sweep else {}),
    }
