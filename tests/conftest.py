"""Shared fixtures: seeds, the tiny presets, and the contract every model of the package meets."""

from __future__ import annotations

import random

import pytest
import torch


@pytest.fixture(autouse=True)
def seeded() -> None:
    """Every test starts from the same random state, so failures reproduce."""
    random.seed(0)
    torch.manual_seed(0)


def check_model_contract(model: torch.nn.Module, make_inputs, expected_shape: tuple[int, ...]) -> None:
    """The contract of every model: output shape, determinism, gradients reach every parameter,
    and a state-dict round trip reproduces the output."""
    model.eval()
    inputs = make_inputs()
    out = model(*inputs)
    assert out.shape == expected_shape
    assert torch.equal(out, model(*inputs)), "the same input must give the same output"

    # Gradients: perturb zero-initialised layers so every parameter sits on a live path.
    with torch.no_grad():
        for p in model.parameters():
            if p.abs().sum() == 0:
                p.add_(0.01 * torch.randn_like(p))
    model.train()
    model.zero_grad()
    model(*inputs).square().mean().backward()
    dead = [name for name, p in model.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]
    assert not dead, f"no gradient reaches {dead}"

    model.eval()
    clone = type(model)(model.config)
    clone.load_state_dict(model.state_dict())
    clone.eval()
    assert torch.allclose(clone(*inputs), model(*inputs))


def modules_moved_by_training(model: torch.nn.Module, loss_fn, recipe) -> set[str]:
    """Train `model` by a recipe's tiny budget; the top-level submodules whose weights changed."""
    from reference.data import ShapesDataset, collate
    from reference.train import train

    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    result = train(model, loss_fn, ShapesDataset(recipe.data), recipe.train, collate_fn=collate, device="cpu")
    return {n.split(".")[0] for n, p in result.model.named_parameters() if not torch.equal(p, before[n])}


def train_sandbox_zoo(entries: dict, tmp_path, monkeypatch) -> None:
    """Make `entries` the zoo, with checkpoints and runs under `tmp_path`, and train each in order
    (a model's dependencies first) through `zoo.train_model`, as `python -m reference.zoo train` does."""
    from reference import store, zoo

    monkeypatch.setattr(zoo, "REGISTRY", entries)
    monkeypatch.setattr(store, "CHECKPOINTS", tmp_path / "checkpoints")
    monkeypatch.setattr(store, "RUNS", tmp_path / "runs")
    for name in entries:
        zoo.train_model(name, device="cpu")
