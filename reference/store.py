"""The zoo's store: where shipped models live, their cards, and loading one by name (chapter 0).

The bottom layer of the zoo. It knows files, not recipes: `checkpoints/NAME.safetensors` beside
`checkpoints/NAME.json` (the card: recipe, steps, hardware, wall time, metrics, sha256), the
resumable training state under `runs/NAME/`, and how to check a file against its card. Recipes use
it to read another stage's model (an image model to start from, a VAE to encode with); it imports no
recipe. How to *build* a model of a given name is the registry's knowledge (`reference.zoo`), which
hands the store a builder when it is imported (`connect`), so the imports run one way:
store <- recipes <- registry <- command line.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors.torch import load_file
from torch import nn

from .train import pick_device

ROOT = Path(__file__).resolve().parent.parent
CHECKPOINTS = ROOT / "checkpoints"
RUNS = ROOT / "runs"  # resumable training state (git-ignored)

_build: Callable[[str], nn.Module] | None = None  # name -> an untrained model of that name's architecture
_recipe: Callable[[str], object] | None = None  # name -> the recipe that name trains by
_aliases: dict[str, str] = {}  # a second name readers look for -> the shipped model it means


class ZooError(RuntimeError):
    """A zoo file is missing, corrupt or unknown; the message names the command that fixes it."""


def connect(build: Callable[[str], nn.Module], aliases: dict[str, str] | None = None,
            recipe: Callable[[str], object] | None = None) -> None:
    """Called by the registry: how to build the (untrained) model of a name, for `load`, the
    aliases (e.g. `i2v-tiny`, the best image-to-video model, whatever its method's name is) and
    how to find the recipe of a name, for `recipe`."""
    global _build, _recipe
    _build, _recipe = build, recipe
    _aliases.clear()
    _aliases.update(aliases or {})


def resolve(name: str) -> str:
    """The shipped model a name means: itself, or the model an alias stands for."""
    return _aliases.get(name, name)


def weights_path(name: str) -> Path:
    return CHECKPOINTS / f"{resolve(name)}.safetensors"


def card_path(name: str) -> Path:
    return CHECKPOINTS / f"{resolve(name)}.json"


def rebuild_command(name: str) -> str:
    return f"python -m reference.zoo train {resolve(name)}"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def card(name: str) -> dict:
    """The JSON card of a shipped model."""
    path = card_path(name)
    if not path.exists():
        raise ZooError(f"no card {path} for {name!r}; rebuild it with `{rebuild_command(name)}`")
    return json.loads(path.read_text())


def check(name: str) -> None:
    """Raise `ZooError` unless NAME's weights exist and match the sha256 on its card."""
    path = weights_path(name)
    if not path.exists():
        raise ZooError(f"{path} is missing; rebuild it with `{rebuild_command(name)}`")
    expected = card(name)["sha256"]
    actual = sha256(path)
    if actual != expected:
        raise ZooError(
            f"{path} is corrupt (sha256 {actual[:12]}..., card says {expected[:12]}...); "
            f"rebuild it with `{rebuild_command(name)}`"
        )


def load(name: str, device: torch.device | str | None = None) -> nn.Module:
    """The shipped model in eval mode, after checking its sha256 against the card."""
    if _build is None:
        raise ZooError("the zoo's registry is not loaded: `import reference.zoo` first (it tells the store "
                       "how to build each model)")
    model = _build(resolve(name))  # first: an unknown name fails here, naming the known ones
    check(name)
    state = {k: v.float() for k, v in load_file(weights_path(name)).items()}
    model.load_state_dict(state)
    return model.to(pick_device(str(device) if device else None)).eval()


def recipe(name: str) -> object:
    """The recipe a shipped model was trained by (a cascade reads each stage's sizes and sampler
    from its stage's recipe)."""
    if _recipe is None:
        raise ZooError("the zoo's registry is not loaded: `import reference.zoo` first (it tells the store "
                       "each model's recipe)")
    return _recipe(resolve(name))


def load_frozen(name: str, kind: type[nn.Module], needed_by: str, device: torch.device | str = "cpu") -> nn.Module:
    """`load`, checked to be a `kind` (another stage's model, e.g. the VAE a latent model reads),
    with gradients off."""
    model = load(name, device=str(device))
    if not isinstance(model, kind):
        raise ValueError(f"{name} is a {type(model).__name__}; {needed_by} needs a {kind.__module__}.{kind.__name__}")
    return model.requires_grad_(False)


_FROZEN: dict[tuple[str, str, str], nn.Module] = {}


def load_frozen_once(name: str, kind: type[nn.Module], needed_by: str, device: torch.device | str = "cpu") -> nn.Module:
    """`load_frozen`, kept after the first call per file (its card's sha256) and device, for a
    frozen model that a loss reads every training step (the CLIP of the prior and of I2VGen-XL)."""
    key = (str(card_path(name)), card(name)["sha256"], str(device))
    if key not in _FROZEN:
        _FROZEN[key] = load_frozen(name, kind, needed_by, device)
    return _FROZEN[key]
