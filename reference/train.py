"""One training loop for every recipe in the book.

Seeded; tqdm progress (quiet when `CI` is set or output is not a terminal); an exponential
moving average (EMA) of the weights, which is what gets sampled and shipped; bf16 autocast on
CUDA; the device chosen automatically (cuda, then mps, then cpu) or by name; a checkpoint every
few hundred steps that a rerun resumes from. Several GPUs (or CPU processes) work through
`torchrun` and DistributedDataParallel: each rank draws different batches from its own seed and
DDP averages the gradients, so all ranks hold the same weights. Used from chapter 0 on.
"""

from __future__ import annotations

import copy
import math
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, NamedTuple

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import Dataset
from tqdm import tqdm


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 1000  # optimiser steps
    batch_size: int = 32  # per rank
    lr: float = 1e-3  # peak AdamW learning rate
    warmup_steps: int = 100  # linear warm-up from 0 to lr
    decay_start: float = 1.0  # share of the steps after which the lr follows a cosine down (1.0: never)
    min_lr_ratio: float = 0.1  # the lr at the last step, as a share of lr
    weight_decay: float = 0.0  # AdamW decoupled weight decay
    grad_clip: float = 1.0  # max global grad norm
    ema_decay: float = 0.999  # EMA of weights; the EMA model is what is sampled
    seed: int = 0  # seeds weights, batches and noise
    checkpoint_every: int = 250  # steps between resumable checkpoints (0: never)
    log_every: int = 50  # steps between loss records
    amp: bool = True  # bf16 autocast, used on CUDA only

    @classmethod
    def tiny(cls) -> "TrainConfig":
        return cls(steps=3, batch_size=2, warmup_steps=1, checkpoint_every=0, log_every=1)


class TrainResult(NamedTuple):
    model: nn.Module  # the raw weights after the last step
    ema: nn.Module  # the EMA weights (sample and ship these)
    losses: list[tuple[int, float]]  # (step, loss) every log_every steps
    wall_time_s: float  # training time, summed over resumed runs
    hardware: str  # what it ran on
    steps: int  # steps done in total


def pick_device(name: str | None = None) -> torch.device:
    """The named device, or the best available: cuda, then mps, then cpu."""
    if name not in (None, "", "auto"):
        device = torch.device(name)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError("device 'cuda' asked for, but torch.cuda.is_available() is False")
        if device.type == "mps" and not torch.backends.mps.is_available():
            raise ValueError("device 'mps' asked for, but torch.backends.mps.is_available() is False")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def hardware_name(device: torch.device) -> str:
    world = dist.get_world_size() if dist.is_initialized() else 1
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
    elif device.type == "mps":
        name = f"Apple MPS ({platform.machine()})"
    else:
        name = f"CPU {platform.machine()}, {torch.get_num_threads()} threads"
    return f"{world} x {name}" if world > 1 else name


def quiet() -> bool:
    """No progress bars in CI logs or when output goes to a file."""
    return bool(os.environ.get("CI")) or not sys.stderr.isatty()


class Distributed(NamedTuple):
    rank: int
    world_size: int
    local_rank: int


def setup_distributed(device_type: str) -> Distributed:
    """Join the process group that torchrun set up (WORLD_SIZE > 1); a no-op otherwise."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size == 1:
        return Distributed(0, 1, 0)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device_type == "cuda" else "gloo")
    return Distributed(dist.get_rank(), world_size, int(os.environ.get("LOCAL_RANK", "0")))


def lr_factor(step: int, config: TrainConfig) -> float:
    """Linear warm-up, a constant plateau, then (from `decay_start`) a cosine down to `min_lr_ratio`."""
    if step < config.warmup_steps:
        return (step + 1) / config.warmup_steps
    start = config.decay_start * config.steps
    if step < start:
        return 1.0
    progress = min(1.0, (step - start) / max(1.0, config.steps - start))
    return config.min_lr_ratio + (1 - config.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


@torch.no_grad()
def update_ema(ema: nn.Module, model: nn.Module, decay: float) -> None:
    for e, p in zip(ema.parameters(), model.parameters()):
        e.lerp_(p.detach(), 1 - decay)
    for e, b in zip(ema.buffers(), model.buffers()):
        e.copy_(b)


LossFn = Callable[[nn.Module, Any, torch.Generator], torch.Tensor]  # (model, batch, generator) -> loss


def train(
    model: nn.Module,
    loss_fn: LossFn,
    dataset: Dataset,
    config: TrainConfig,
    collate_fn: Callable[[list], Any],
    device: torch.device | str | None = None,
    run_dir: Path | None = None,
    on_step: Callable[[int, nn.Module], None] | None = None,
    deadline: float | None = None,
) -> TrainResult:
    """Train `model` on batches drawn at random from `dataset`; resume from `run_dir` if it holds a checkpoint.

    `on_step(step, ema)` runs after every step (e.g. a learning-curve point every k steps);
    `deadline` (a `time.time()` value) stops training cleanly there, saving the state so a rerun
    goes on (the result then has fewer steps than the config asks for)."""
    device = pick_device(str(device) if device is not None else None)
    ddp = setup_distributed(device.type)
    if device.type == "cuda" and ddp.world_size > 1:
        device = torch.device("cuda", ddp.local_rank)
    torch.manual_seed(config.seed)  # same initial weights on every rank
    model = model.to(device)
    ema = copy.deepcopy(model).requires_grad_(False)
    # A model may ask for parameter groups with their own learning rates (e.g. pretrained layers
    # fine-tuned slower than new ones); the schedule scales every group alike.
    groups = model.parameter_groups(config.lr) if hasattr(model, "parameter_groups") else model.parameters()
    optimizer = torch.optim.AdamW(groups, lr=config.lr, weight_decay=config.weight_decay)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, config))
    # Each rank draws its own batches and noise: seed + rank.
    batch_rng = torch.Generator().manual_seed(config.seed * 1000 + ddp.rank)
    noise_rng = torch.Generator().manual_seed(config.seed * 1000 + ddp.rank + 500)
    step, losses, elapsed = 0, [], 0.0

    state_path = run_dir / "state.pt" if run_dir is not None else None
    if state_path is not None and state_path.exists():  # resume
        state = torch.load(state_path, map_location=device, weights_only=False)
        model.load_state_dict(state["model"])
        ema.load_state_dict(state["ema"])
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        batch_rng.set_state(state["batch_rng"][ddp.rank].cpu())
        noise_rng.set_state(state["noise_rng"][ddp.rank].cpu())
        step, losses, elapsed = state["step"], state["losses"], state["elapsed"]

    wrapped: nn.Module = model
    if ddp.world_size > 1:
        wrapped = nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    use_amp = config.amp and device.type == "cuda"
    bar = tqdm(total=config.steps, initial=step, disable=quiet() or ddp.rank != 0, desc="train")
    start = time.perf_counter()
    model.train()
    while step < config.steps:
        indices = torch.randint(len(dataset), (config.batch_size,), generator=batch_rng).tolist()
        batch = _to_device(collate_fn([dataset[i] for i in indices]), device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
            loss = loss_fn(wrapped, batch, noise_rng)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if config.grad_clip > 0:
            nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        schedule.step()
        update_ema(ema, model, config.ema_decay)
        step += 1
        bar.update(1)
        if step % config.log_every == 0 or step == config.steps:
            losses.append((step, loss.item()))
            bar.set_postfix(loss=f"{loss.item():.4f}")
            if bar.disable and ddp.rank == 0 and not os.environ.get("CI"):  # a log line for nohup runs
                print(f"step {step}/{config.steps} loss {loss.item():.4f} "
                      f"{elapsed + time.perf_counter() - start:.0f}s", flush=True)
        if on_step is not None:
            on_step(step, ema)
        late = deadline is not None and time.time() > deadline
        if state_path is not None and ((config.checkpoint_every and step % config.checkpoint_every == 0) or late):
            _save_state(state_path, model, ema, optimizer, schedule, batch_rng, noise_rng, step, losses,
                        elapsed + time.perf_counter() - start, ddp)
        if late:
            print(f"deadline reached at step {step}/{config.steps}: stopping", flush=True)
            break
    bar.close()
    elapsed += time.perf_counter() - start
    model.eval()
    ema.eval()
    return TrainResult(model, ema, losses, elapsed, hardware_name(device), step)


def _to_device(batch: Any, device: torch.device) -> Any:
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):  # NamedTuple
        return type(batch)(*(_to_device(b, device) for b in batch))
    if isinstance(batch, (list, tuple)):
        return type(batch)(_to_device(b, device) for b in batch)
    return batch


def _save_state(path: Path, model, ema, optimizer, schedule, batch_rng, noise_rng, step, losses, elapsed, ddp) -> None:
    """Resumable training state (pickled, local only: shipped weights are safetensors)."""
    gather = lambda g: _gather_rng(g, ddp)  # noqa: E731  every rank's generator, so resume is exact
    batch_states, noise_states = gather(batch_rng), gather(noise_rng)
    if ddp.rank != 0:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(
        {
            "model": model.state_dict(), "ema": ema.state_dict(), "optimizer": optimizer.state_dict(),
            "schedule": schedule.state_dict(), "batch_rng": batch_states, "noise_rng": noise_states,
            "step": step, "losses": losses, "elapsed": elapsed,
        },
        tmp,
    )
    tmp.replace(path)  # atomic: a crash mid-save leaves the previous checkpoint


def _gather_rng(generator: torch.Generator, ddp: Distributed) -> list[torch.Tensor]:
    if ddp.world_size == 1:
        return [generator.get_state()]
    states: list[Any] = [None] * ddp.world_size
    dist.all_gather_object(states, generator.get_state())
    return states
