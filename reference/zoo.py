"""The model zoo: small pretrained toy models that ship with the book, and the commands that make them.

    python -m reference.zoo list
    python -m reference.zoo train NAME [--device D] [--steps N] [--deadline-minutes M]
    python -m reference.zoo train-all --device cuda --deadline-minutes 8 --out DIR [--only NAMES] [--jobs J] [--profile gpu]
    python -m reference.zoo gpu-tree --only NAMES | --restore
    python -m reference.zoo verify
    python -m reference.zoo eval NAME [--update-card]
    python -m reference.zoo sample NAME --prompt "a red circle" --n 8 --seed 0 --out FILE.npz [--image FIRST_FRAME.png]

Each model is `checkpoints/NAME.safetensors` (EMA weights, fp16) beside `checkpoints/NAME.json`,
its card: recipe and config, parameter count, steps, hardware, wall time, date, sha256 and the
metrics `eval` measured on the shipped file. `load(NAME)` checks the hash first and, on a
missing or corrupt file, says which command rebuilds it. Used by every chapter.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import enum
import inspect
import json
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Any, Callable

import torch
from safetensors.torch import save_file
from torch import nn

from . import store
from .entry import Entry
from .recipes import motion
from .registry import aliases, entries

# The store's API, re-exported: chapters and users call zoo.card(NAME) and zoo.load(NAME).
from .store import ZooError, card, card_path, load, load_frozen, rebuild_command, sha256, weights_path  # noqa: F401
from .train import TrainResult, train


def by_chapter() -> dict[int, list[str]]:
    """The registry's model names grouped by chapter, chapters in order, names in registry order."""
    groups: dict[int, list[str]] = {}
    for name, spec in REGISTRY.items():
        groups.setdefault(spec.chapter, []).append(name)
    return dict(sorted(groups.items()))


# Every model the book ships, declared per chapter in `reference.registry`.
REGISTRY: dict[str, Entry] = entries()
ALIASES: dict[str, str] = aliases()  # e.g. i2v-tiny -> the image-to-video model that measured best


# GPU profiles: the full-quality training of the models whose CPU files miss their bars (issue:
# "retrain on a GPU"). Only the training changes (steps, batch); the architecture and everything
# measured stay the recipe's, so a GPU file loads and evaluates like a CPU one. Sized from the
# throughput measured on a lent H200 (chapter 6's DiTs: about 0.09 s a step at batch 32 with eleven
# jobs sharing the chip, the data rendered on one CPU core per job) to fit about 7 minutes each.
GPU_PROFILES: dict[str, dict[str, int]] = {
    "vdm-tiny": {"steps": 4000, "batch_size": 32},
    "latte-tiny": {"steps": 4800, "batch_size": 32},  # its CPU recipe (t2v-tiny's), for a lent GPU
    "latent-t2v-tiny": {"steps": 4000, "batch_size": 32},
    "tganc-tiny": {"steps": 8000, "batch_size": 16},
    "tganc-ablation-video": {"steps": 8000, "batch_size": 16},
    "tganc-ablation-video-frame": {"steps": 8000, "batch_size": 16},
    "t2v-tiny": {"steps": 4800, "batch_size": 32},  # its CPU recipe; already trained on an H200 by it
    "videofusion-tiny": {"steps": 6000, "batch_size": 16},  # the residual generator is what needs the steps
    "cogvideox-tiny": {"steps": 4800, "batch_size": 32},  # their CPU recipes, for a lent GPU
    "wan-tiny": {"steps": 4800, "batch_size": 32},
    "cogvideox-ablation-divided": {"steps": 4800, "batch_size": 32},
    "cogvideox-ablation-shared-adaln": {"steps": 4800, "batch_size": 32},
}
PROFILES = ("cpu", "gpu")

# Recipe fields that name another zoo model a recipe reads (its image model, VAE, decoders).
DEPENDENCY_FIELDS = ("init_from", "init_temporal_from", "vae", "decoder", "naive_decoder", "vqvae", "clip", "prior",
                     "interpolation", "sr_low", "sr_high")


def entry(name: str) -> Entry:
    """NAME's entry (an alias gives the entry it stands for)."""
    name = store.resolve(name)
    if name not in REGISTRY:
        raise ZooError(f"unknown zoo model {name!r}; known: {sorted(REGISTRY)}, aliases: {sorted(ALIASES)}")
    return REGISTRY[name]


def build(name: str) -> nn.Module:
    """An untrained model of NAME's architecture, from its recipe (what the store loads weights into)."""
    spec = entry(name)
    return spec.build(spec.recipe)


store.connect(build, ALIASES, lambda name: entry(name).recipe)  # the store builds models and finds recipes
# by name through the registry, without importing it


def recipe_of(name: str, profile: str = "cpu") -> Any:
    """The recipe NAME trains by under a profile: "cpu" (the default, the book's) or "gpu"."""
    spec = entry(name)
    if profile not in PROFILES:
        raise ZooError(f"unknown profile {profile!r}; expected one of {PROFILES}")
    if profile == "cpu":
        return spec.recipe
    if name not in GPU_PROFILES:
        raise ZooError(f"{name} has no GPU profile (its CPU recipe meets its bar); models with one: {sorted(GPU_PROFILES)}")
    return dataclasses.replace(spec.recipe, train=dataclasses.replace(spec.recipe.train, **GPU_PROFILES[name]))


def requirements(name: str) -> list[str]:
    """The zoo models NAME's training reads (from its recipe's fields), in the order they appear."""
    recipe = entry(name).recipe
    named = [getattr(recipe, field, None) for field in DEPENDENCY_FIELDS]
    return list(dict.fromkeys(value for value in named if isinstance(value, str) and value in REGISTRY))


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _curve_recorder(spec: Entry, recipe: Any, path: Path) -> Callable[[int, nn.Module], None] | None:
    """An `on_step` hook appending a learning-curve point to `path` (JSON) every `curve_every` steps."""
    every = getattr(recipe, "curve_every", 0)
    if spec.curve is None or not every:
        return None

    def record(step: int, ema: nn.Module) -> None:
        if step % every:
            return
        points = json.loads(path.read_text()) if path.exists() else []
        points = [p for p in points if p["step"] < step]  # a resumed run may redo a point
        points.append({"step": step, **spec.curve(ema, recipe)})
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(points, indent=1) + "\n")

    return record


def train_model(name: str, device: str | None = None, steps: int | None = None, deadline: float | None = None,
                profile: str = "cpu") -> dict:
    """Train by the recipe, write weights and card, measure the card's metrics on the written file.
    `deadline` (a `time.time()` value) stops training early; the card then records the steps done.
    `profile` "gpu" trains by the model's GPU profile (`GPU_PROFILES`); the card records which."""
    name = store.resolve(name)  # an alias trains the model it stands for
    spec = entry(name)
    recipe = recipe_of(name, profile)
    if steps is not None:
        recipe = dataclasses.replace(recipe, train=dataclasses.replace(recipe.train, steps=steps))
    model = spec.build(recipe)
    initialised_from = spec.initialize(model, recipe) if spec.initialize else None
    curve_path = store.RUNS / name / "curve.json"
    result: TrainResult = train(
        model,
        spec.loss(recipe),
        spec.dataset(recipe),
        recipe.train,
        collate_fn=spec.collate,
        device=device,
        run_dir=store.RUNS / name,
        on_step=_curve_recorder(spec, recipe, curve_path),
        deadline=deadline,
    )
    if torch.distributed.is_initialized() and torch.distributed.get_rank() != 0:
        return {}
    store.CHECKPOINTS.mkdir(parents=True, exist_ok=True)
    path = weights_path(name)
    # fp16 halves the file; the card's metrics are measured on these rounded weights.
    save_file({k: v.detach().half().contiguous().cpu() for k, v in result.ema.state_dict().items()}, str(path))
    info = {
        "name": name,
        "description": spec.description,
        "command": rebuild_command(name) + (f" --steps {steps}" if steps is not None else "")
        + (f" --profile {profile}" if profile != "cpu" else ""),
        "profile": profile,
        "recipe": _jsonable(recipe),
        "parameters": parameter_count(model),
        "initialised_from": initialised_from,
        "steps": result.steps,
        "batch_size": recipe.train.batch_size,
        "hardware": result.hardware,
        "wall_time_s": round(result.wall_time_s, 1),
        "date": datetime.date.today().isoformat(),
        "torch": torch.__version__,
        "sha256": sha256(path),
        "file_bytes": path.stat().st_size,
        "losses": result.losses,
        "metrics": {},
    }
    if curve_path.exists() and spec.curve is not None:
        info["curve"] = json.loads(curve_path.read_text())
    card_path(name).write_text(json.dumps(info, indent=2) + "\n")
    info["metrics"] = evaluate(name, device=device, update_card=True)
    return info


def evaluate(name: str, device: str | None = None, update_card: bool = False) -> dict:
    """Measure the card's metrics on the shipped file (optionally writing them into the card)."""
    spec = entry(name)
    model = load(name, device)
    metrics = spec.evaluate(model, spec.recipe)
    if update_card:
        info = card(name)
        recipe = _jsonable(recipe_of(name, info.get("profile", "cpu")))
        recipe["train"]["steps"] = info["recipe"]["train"]["steps"]  # `--steps` may have overridden it
        if recipe["train"] != info["recipe"]["train"]:
            raise ZooError(f"the card of {name!r} was trained by another recipe; retrain with `{rebuild_command(name)}`")
        info["recipe"] = recipe  # sampling defaults may have changed since training; training did not
        info["metrics"] = metrics
        card_path(name).write_text(json.dumps(info, indent=2) + "\n")
    return metrics


def train_all(names: list[str], out: Path, device: str = "cuda", deadline_minutes: float = 8.0, jobs: int = 4,
              eval_reserve_minutes: float = 1.5, archive_mib: int = 15, profile: str = "cpu",
              command_for: Callable[[str, float], list[str]] | None = None) -> list[Path]:
    """Train the named models concurrently (`jobs` processes at a time, one CPU thread each), each
    stopping at the deadline less the time its evaluation needs; then pack their weights, cards and
    logs into archives of at most `archive_mib` MiB in `out` (for a machine that returns few files).
    A model starts once the selected models it reads (`requirements`) have finished; one whose
    requirement failed is skipped. A rerun resumes every model from `runs/`. `command_for(name,
    stop_at)`: the process that trains one model (default: `python -m reference.zoo train NAME`)."""
    for name in names:
        recipe_of(name, profile)  # unknown names and missing profiles fail before anything starts
    out.mkdir(parents=True, exist_ok=True)
    start = time.time()
    stop_at = start + (deadline_minutes - eval_reserve_minutes) * 60
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    waiting, running, codes = list(names), {}, {}
    while waiting or running:
        for name in list(waiting):  # a model whose requirement failed cannot train
            if any(codes.get(r, 0) != 0 for r in requirements(name)):
                waiting.remove(name)
                codes[name] = "skipped: a requirement failed"
        ready = [n for n in waiting if all(r in codes for r in requirements(n) if r in names)]
        while ready and len(running) < jobs:
            name = ready.pop(0)
            waiting.remove(name)
            log = open(out / f"{name}.log", "w")
            command = command_for(name, stop_at) if command_for else [
                sys.executable, "-m", "reference.zoo", "train", name, "--device", device, "--deadline-at", str(stop_at),
                "--profile", profile]
            running[name] = (subprocess.Popen(command, cwd=store.ROOT, env=env, stdout=log, stderr=subprocess.STDOUT), log)
        time.sleep(2)
        if time.time() > start + deadline_minutes * 60:  # an evaluation overran: stop it, keep the rest
            for name, (process, _) in running.items():
                print(f"{name}: still running at the deadline, stopped", flush=True)
                process.terminate()
        for name, (process, log) in list(running.items()):
            if process.poll() is not None:
                codes[name] = process.returncode
                log.close()
                del running[name]
                print(f"{name}: exit {process.returncode} after {time.time() - start:.0f}s", flush=True)
    (out / "summary.json").write_text(json.dumps({"exit_codes": codes, "seconds": time.time() - start}, indent=1) + "\n")
    return pack(names, out, archive_mib)


def pack(names: list[str], out: Path, archive_mib: int = 15) -> list[Path]:
    """Each model's weights and card (and the logs in `out`) into `out/zoo-K.tar` archives of at most
    `archive_mib` MiB each; unpack with `tar -xf` in the repository root."""
    out.mkdir(parents=True, exist_ok=True)
    shipped = [p for n in names for p in (weights_path(n), card_path(n)) if p.exists()]
    logs = sorted(out.glob("*.log")) + [p for p in [out / "summary.json"] if p.exists()]
    files = [(p, f"checkpoints/{p.name}") for p in shipped] + [(p, f"logs/{p.name}") for p in logs]
    archives, current, size = [], None, 0
    for path, arcname in files:
        if current is None or size + path.stat().st_size > archive_mib * 2**20:
            if current is not None:
                current.close()
            archives.append(out / f"zoo-{len(archives)}.tar")
            current, size = tarfile.open(archives[-1], "w"), 0
        current.add(path, arcname=arcname)
        size += path.stat().st_size
    if current is not None:
        current.close()
    return archives


ASIDE = store.ROOT / ".gpu-aside"  # git-ignored: shipped files moved out of the tree that travels
TREE_LIMIT_MIB = 64  # what the lent GPU machine takes of the working tree


def tree_bytes() -> int:
    """Bytes of the working tree that travels: tracked files present, and untracked files git does not ignore."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=store.ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    return sum((store.ROOT / p).stat().st_size for p in set(listed) if p and (store.ROOT / p).is_file())


def prepare_gpu_tree(names: list[str], limit_mib: int = TREE_LIMIT_MIB) -> tuple[list[str], int]:
    """Move every shipped file that training `names` does not read into `ASIDE` (their own files
    too: training rewrites them); return the moved names and the size of the tree that travels,
    which must be under `limit_mib`. `restore_gpu_tree` moves them back."""
    for name in names:
        entry(name)
    keep = {r for n in names for r in requirements(n) if r not in names}
    ASIDE.mkdir(exist_ok=True)
    moved = []
    for name in REGISTRY:
        if name in keep:
            continue
        for path in (weights_path(name), card_path(name)):
            if path.exists():
                path.replace(ASIDE / path.name)
        moved.append(name)
    size = tree_bytes()
    if size >= limit_mib * 2**20:
        raise ZooError(f"the tree that travels is {size / 2**20:.1f} MiB, over {limit_mib} MiB: fewer models at once")
    return moved, size


def restore_gpu_tree() -> list[str]:
    """Move the files `prepare_gpu_tree` set aside back into `checkpoints/`, unless a new file of the
    same name came back from the GPU (that one stays); return the restored file names."""
    restored = []
    for path in sorted(ASIDE.glob("*")) if ASIDE.exists() else []:
        target = store.CHECKPOINTS / path.name
        if target.exists():
            path.unlink()
        else:
            path.replace(target)
            restored.append(path.name)
    return restored


def verify() -> list[str]:
    """Problems with shipped files: every card's sha256 against its weights. Empty means all good."""
    problems = []
    for name in REGISTRY:
        path = weights_path(name)
        if not card_path(name).exists() and not path.exists():
            problems.append(f"{name}: not shipped; build it with `{rebuild_command(name)}`")
            continue
        try:
            expected = card(name)["sha256"]
        except ZooError as error:
            problems.append(str(error))
            continue
        if not path.exists():
            problems.append(f"{name}: {path} missing; rebuild with `{rebuild_command(name)}`")
        elif sha256(path) != expected:
            problems.append(f"{name}: sha256 mismatch; rebuild with `{rebuild_command(name)}`")
    return problems


def read_image(path: Path, channels: int, height: int, width: int) -> torch.Tensor:
    """A condition image `(c, h, w)` in [-1, 1] from a PNG or an `.npy` array, checked against the
    model's frame size before any slow work."""
    import numpy as np

    expected = f"{channels} x {height} x {width} (channels x height x width: the model's frames)"
    if not path.exists():
        raise ValueError(f"--image {path} does not exist; expected a PNG or an .npy array of {expected}")
    if path.suffix.lower() == ".npy":
        array = np.load(path)
        if array.shape != (channels, height, width):
            raise ValueError(f"--image {path} holds an array of shape {array.shape}; expected {expected} in [-1, 1]")
        if not np.isfinite(array).all() or np.abs(array).max() > 1:
            raise ValueError(f"--image {path}: values must lie in [-1, 1]")
        return torch.from_numpy(array.astype(np.float32))
    if path.suffix.lower() != ".png":
        raise ValueError(f"--image {path}: expected a .png or .npy file of {expected}")
    from PIL import Image

    with Image.open(path) as image:
        array = np.asarray(image)
    if array.ndim == 2:
        array = array[:, :, None]
    if array.shape[:2] != (height, width) or array.shape[2] not in (channels, channels + 1):
        raise ValueError(f"--image {path} is a {array.shape[1]} x {array.shape[0]} PNG with {array.shape[2]} channels; "
                         f"expected {width} x {height} with {channels} ({expected})")
    rgb = torch.from_numpy(array[:, :, :channels].astype(np.float32)).permute(2, 0, 1)
    return rgb / 127.5 - 1


def sample_to_file(name: str, prompt: str, n: int, seed: int, out: Path, device: str | None = None,
                   image: Path | None = None, frames: int | None = None, height: int | None = None,
                   width: int | None = None) -> Path:
    """Write `videos` (n, c, f, h, w) float32 in [-1, 1] and `prompts` to an .npz file. `image`: the
    first frame an image-to-video model continues (a PNG or an .npy `(c, h, w)` in [-1, 1]);
    `frames`, `height`, `width`: the clip's size, for models that take any (chapter 8's Sora models)."""
    import numpy as np

    spec = entry(name)
    if spec.generate is None:
        raise ValueError(f"{name} generates nothing from a prompt (it is a classifier or an autoencoder)")
    if n < 1:
        raise ValueError(f"--n must be >= 1, got {n}")
    kwargs = {}
    sizes = {k: v for k, v in (("frames", frames), ("height", height), ("width", width)) if v is not None}
    if sizes:
        takes = set(inspect.signature(spec.generate).parameters)
        if not set(sizes) <= takes:
            sized = [m for m in REGISTRY if REGISTRY[m].generate is not None
                     and {"frames", "height", "width"} <= set(inspect.signature(REGISTRY[m].generate).parameters)]
            world = spec.recipe.data.world
            raise ValueError(f"{name} generates clips of one size ({world.frames} x {world.height} x {world.width}); "
                             f"drop --frames/--height/--width, or use a model that takes any size: {sized}")
        kwargs |= sizes
    takes_image = getattr(spec.recipe, "takes_image", False)
    if takes_image and image is None:
        raise ValueError(f"{name} continues a given first frame: pass --image FIRST_FRAME (a PNG or an .npy array)")
    if image is not None:
        if not takes_image:
            raise ValueError(f"{name} takes no condition image; drop --image")
        world = spec.recipe.data.world
        frame = read_image(image, 3, world.height, world.width)
        clip = torch.zeros(3, world.frames, world.height, world.width)
        clip[:, 0] = frame  # the first frame; the model sees nothing of the others
        kwargs["given"] = clip.expand(n, -1, -1, -1, -1).clone()
    model = load(name, device)
    prompts = [prompt] * n
    videos = spec.generate(model, spec.recipe, prompts, seed=seed, **kwargs)
    np.savez(out, videos=videos.float().numpy(), prompts=np.array(prompts))
    return out


def _print_list() -> None:
    rows = [("name", "params", "steps", "hardware", "headline")]
    for chapter, names in by_chapter().items():
        rows.append((f"chapter {chapter}", "", "", "", ""))
        for name in names:
            rows.append(_list_row(name, REGISTRY[name]))
        rows += [(alias, "", "", "", f"alias of {target}") for alias, target in ALIASES.items() if target in names]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        indent = "" if row[0].startswith("chapter ") or row[0] == "name" else "  "
        print("  ".join(cell.ljust(w) for cell, w in zip((indent + row[0], *row[1:]), [widths[0] + 2, *widths[1:]])).rstrip())


def _list_row(name: str, spec: Entry) -> tuple[str, str, str, str, str]:
    try:
        info = card(name)
    except ZooError:
        return (name, "-", "-", "-", f"not built: {rebuild_command(name)}")
    metric = info.get("metrics", {}).get(spec.headline)
    shown = f"{spec.headline}={metric:.3f}" if isinstance(metric, float) else f"{spec.headline}=?"
    return (name, f"{info['parameters']:,}", str(info["steps"]), info["hardware"], shown)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reference.zoo", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="name, params, steps, hardware, headline metric")
    p_train = commands.add_parser("train", help="train NAME by its recipe and write weights + card")
    p_train.add_argument("name")
    p_train.add_argument("--device", default=None, help="cuda, mps or cpu (default: best available)")
    p_train.add_argument("--steps", type=int, default=None, help="override the recipe's step count")
    p_train.add_argument("--deadline-minutes", type=float, default=None, help="stop training after this long (resumable)")
    p_train.add_argument("--deadline-at", type=float, default=None, help=argparse.SUPPRESS)  # a time.time(), from train-all
    p_train.add_argument("--profile", choices=PROFILES, default="cpu", help="gpu: the full-quality recipe (GPU_PROFILES)")
    p_all = commands.add_parser("train-all", help="train several models concurrently to a deadline; pack the results")
    p_all.add_argument("--device", default="cuda")
    p_all.add_argument("--deadline-minutes", type=float, default=8.0)
    p_all.add_argument("--out", type=Path, required=True)
    p_all.add_argument("--only", default=None, help="comma-separated names (default: every motion-study row)")
    p_all.add_argument("--jobs", type=int, default=4, help="models trained at once")
    p_all.add_argument("--profile", choices=PROFILES, default="cpu")
    p_tree = commands.add_parser("gpu-tree", help="set aside the shipped files a GPU run does not read (or --restore)")
    p_tree.add_argument("--only", default=None, help="comma-separated names the run will train")
    p_tree.add_argument("--restore", action="store_true")
    commands.add_parser("verify", help="check every shipped file's sha256 against its card")
    p_eval = commands.add_parser("eval", help="measure NAME's card metrics again; print JSON")
    p_eval.add_argument("name")
    p_eval.add_argument("--device", default=None)
    p_eval.add_argument("--update-card", action="store_true", help="write the metrics into the card")
    p_sample = commands.add_parser("sample", help="sample NAME for a prompt into an .npz file")
    p_sample.add_argument("name")
    p_sample.add_argument("--prompt", required=True)
    p_sample.add_argument("--n", type=int, default=8)
    p_sample.add_argument("--seed", type=int, default=0)
    p_sample.add_argument("--out", type=Path, required=True)
    p_sample.add_argument("--device", default=None)
    p_sample.add_argument("--image", type=Path, default=None, help="first frame (PNG or .npy (c, h, w) in [-1, 1]) for image-to-video models")
    p_sample.add_argument("--frames", type=int, default=None, help="clip length, for models that take any size")
    p_sample.add_argument("--height", type=int, default=None, help="clip height in pixels, for models that take any size")
    p_sample.add_argument("--width", type=int, default=None, help="clip width in pixels, for models that take any size")
    args = parser.parse_args(argv)
    try:
        if args.command == "list":
            _print_list()
        elif args.command == "train":
            deadline = args.deadline_at or (time.time() + 60 * args.deadline_minutes if args.deadline_minutes else None)
            info = train_model(args.name, device=args.device, steps=args.steps, deadline=deadline, profile=args.profile)
            if info:
                print(json.dumps({k: info[k] for k in ("name", "steps", "wall_time_s", "hardware", "metrics")}, indent=2))
        elif args.command == "train-all":
            names = args.only.split(",") if args.only else [f"motion-{r}" for r in motion.ROWS]
            for archive in train_all(names, args.out, args.device, args.deadline_minutes, args.jobs, profile=args.profile):
                print(f"wrote {archive}")
        elif args.command == "gpu-tree":
            if args.restore:
                print(f"restored {len(restore_gpu_tree())} file(s) into {store.CHECKPOINTS}")
            else:
                if not args.only:
                    raise ZooError("gpu-tree needs --only NAMES (the models the GPU run will train) or --restore")
                moved, size = prepare_gpu_tree(args.only.split(","))
                print(f"set aside {len(moved)} model(s) in {ASIDE}; the tree that travels is {size / 2**20:.1f} MiB")
        elif args.command == "verify":
            problems = verify()
            for problem in problems:
                print(problem, file=sys.stderr)
            if problems:
                return 1
            print(f"ok: {len(REGISTRY)} model(s) match their cards")
        elif args.command == "eval":
            print(json.dumps(evaluate(args.name, device=args.device, update_card=args.update_card), indent=2))
        elif args.command == "sample":
            path = sample_to_file(args.name, args.prompt, args.n, args.seed, args.out, device=args.device, image=args.image,
                                  frames=args.frames, height=args.height, width=args.width)
            print(f"wrote {path}")
    except (ZooError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
