"""Chapter 8's CogVideoX and Wan: trained by `t2v-tiny`'s recipe with only the denoiser and its
objective changed, through the zoo's usual commands."""

import dataclasses

import numpy as np
import pytest
import torch

from reference import zoo
from reference.models.cogvideox import CogVideoX, CogVideoXConfig
from reference.models.wan import Wan, WanConfig
from reference.recipes import motion, vae
from reference.recipes.motion import Objective
from tests.conftest import train_sandbox_zoo


def test_recipes_change_only_the_denoiser_and_its_objective():
    sampling = {"guidance_scale", "guidance_sweep"}  # how the card samples, not how the model trains
    for recipe, changed in ((motion.COGVIDEOX, {"model", "schedule"}), (motion.WAN, {"model", "objective"})):
        differs = {f.name for f in dataclasses.fields(recipe) if getattr(recipe, f.name) != getattr(motion.T2V, f.name)}
        assert differs - sampling == changed
    assert motion.COGVIDEOX.schedule.zero_terminal_snr and motion.WAN.objective is Objective.FLOW
    assert isinstance(motion.build_model(motion.COGVIDEOX), CogVideoX)
    assert isinstance(motion.build_model(motion.WAN), Wan)
    params = [sum(p.numel() for p in motion.build_model(r).parameters()) for r in (motion.COGVIDEOX, motion.WAN)]
    assert abs(params[0] - params[1]) / max(params) < 0.05, f"similar sizes: {params}"


@pytest.fixture
def sota_zoo(tmp_path, monkeypatch):
    entries = {"vae-test": dataclasses.replace(zoo.REGISTRY["vae-causal-tiny"], name="vae-test", recipe=vae.CausalVAERecipe.tiny())}
    tiny = motion.MotionRecipe.tiny(vae="vae-test")
    recipes = {
        "cogvideox-tiny": dataclasses.replace(tiny, model=CogVideoXConfig.tiny(), schedule=motion.COGVIDEOX.schedule),
        "wan-tiny": dataclasses.replace(tiny, model=WanConfig.tiny(), objective=Objective.FLOW, guidance_sweep=(1.0, 3.0)),
    }
    for name, recipe in recipes.items():
        entries[name] = dataclasses.replace(zoo.REGISTRY[name], recipe=recipe)
    train_sandbox_zoo(entries, tmp_path, monkeypatch)
    return tmp_path


def test_both_train_sample_and_verify_through_the_zoo(sota_zoo):
    for name in ("cogvideox-tiny", "wan-tiny"):
        card = zoo.card(name)
        for key in ("colour_accuracy", "shape_accuracy", "motion_accuracy", "caption_accuracy"):
            assert 0.0 <= card["metrics"][key] <= 1.0, (name, key)
        assert [p["step"] for p in card["curve"]] == [2]
        assert card["initialised_from"]["vae"]["name"] == "vae-test"
        out = sota_zoo / f"{name}.npz"
        assert zoo.main(["sample", name, "--prompt", "a red circle moving left", "--n", "2", "--out", str(out),
                         "--device", "cpu"]) == 0
        assert np.load(out)["videos"].shape == (2, 3, 5, 16, 16)
    assert "DDIM" in zoo.card("cogvideox-tiny")["metrics"]["sampler"]
    assert "Euler" in zoo.card("wan-tiny")["metrics"]["sampler"]
    sweep = zoo.card("wan-tiny")["metrics"]["guidance_sweep"]
    assert [p["guidance"] for p in sweep] == [1.0, 3.0] and all(0 <= p["motion"] <= 1 for p in sweep)
    assert "guidance_sweep" not in zoo.card("cogvideox-tiny")["metrics"]
    model, recipe = zoo.load("wan-tiny"), zoo.entry("wan-tiny").recipe
    unguided = {k: v for k, v in sweep[0].items() if k != "guidance"}
    for scale in (1.0, 3.0):  # the learning curve judges without guidance whatever the recipe samples at
        assert motion.curve_point(model, dataclasses.replace(recipe, guidance_scale=scale)) == unguided
    assert zoo.verify() == []
    a = motion.generate(model, recipe, ["a red circle moving left"], seed=1)
    assert torch.equal(a, motion.generate(model, recipe, ["a red circle moving left"], seed=1)), "seeded"
