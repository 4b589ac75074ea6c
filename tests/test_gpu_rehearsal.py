"""The GPU retrain, rehearsed on the CPU: every model with a GPU profile goes through
`train_model(..., profile="gpu")` from the shipped files it reads, for two steps of two clips and
a two-sample evaluation, so the one command a lent GPU runs is known to work before one is lent."""

import dataclasses
import json
import shutil

import pytest

from reference import store, zoo

SHRUNK = {"eval_samples": 2, "diversity_samples": 2, "sample_steps": 2, "curve_samples": 2}  # curve_samples: the guidance sweep


@pytest.mark.parametrize("name", sorted(zoo.GPU_PROFILES))
def test_every_gpu_profile_trains_and_measures(name, tmp_path, monkeypatch):
    shipped = tmp_path / "checkpoints"
    shipped.mkdir()
    needed = set(zoo.requirements(name))
    for requirement in list(needed):
        needed |= set(zoo.requirements(requirement))
    for requirement in needed:  # the files the GPU tree keeps
        for path in (zoo.weights_path(requirement), zoo.card_path(requirement)):
            shutil.copy(path, shipped / path.name)
    spec = zoo.REGISTRY[name]
    recipe = dataclasses.replace(spec.recipe, **{k: v for k, v in SHRUNK.items() if hasattr(spec.recipe, k)})
    monkeypatch.setitem(zoo.REGISTRY, name, dataclasses.replace(spec, recipe=recipe))
    monkeypatch.setitem(zoo.GPU_PROFILES, name, {"steps": 2, "batch_size": 2})
    monkeypatch.setattr(store, "CHECKPOINTS", shipped)
    monkeypatch.setattr(store, "RUNS", tmp_path / "runs")
    info = zoo.train_model(name, device="cpu", profile="gpu")
    card = json.loads(zoo.card_path(name).read_text())
    assert card["profile"] == "gpu" and card["command"].endswith("--profile gpu") and info["steps"] == 2
    assert card["metrics"][spec.headline] is not None
    again = zoo.evaluate(name, device="cpu", update_card=True)  # checks the card's training against its profile
    timing = {"sampling_s_per_video"}
    assert {k: v for k, v in again.items() if k not in timing} == {k: v for k, v in card["metrics"].items() if k not in timing}
