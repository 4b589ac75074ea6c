"""TGANs-C's recipe (chapter 1): one loss trains both players; the ablation rows differ in one field."""

import dataclasses

import pytest
import torch

from reference.models.tganc import DiscriminatorKind
from reference.recipes import tganc
from tests.conftest import modules_moved_by_training


def test_one_loss_trains_generator_and_discriminators():
    recipe = tganc.TGANCRecipe.tiny()
    moved = modules_moved_by_training(tganc.build_model(recipe), tganc.make_loss(recipe), recipe)
    assert {"text", "generator", "critic_text", "critics"} <= moved


def test_generation_is_deterministic_and_evaluation_reports_diversity():
    recipe = tganc.TGANCRecipe.tiny()
    model = tganc.build_model(recipe).eval()
    a = tganc.generate(model, recipe, ["a red circle moving left"] * 2, seed=3)
    b = tganc.generate(model, recipe, ["a red circle moving left"] * 2, seed=3)
    assert torch.equal(a, b) and a.shape == (2, 3, 4, 16, 16)
    metrics = tganc.evaluate(model, recipe)
    assert metrics["eval_samples"] == 6 and metrics["centre_spread_of_rendered"] > 0.05
    for key in ("caption_accuracy", "centre_spread", "area_spread", "empty_share", "flicker"):
        assert 0.0 <= metrics[key] <= 1.0, key


def test_ablation_rows_differ_only_in_their_discriminators():
    rows = {row: tganc.ablation(row) for row in tganc.ABLATIONS}
    for row, recipe in rows.items():
        assert dataclasses.replace(recipe.model, discriminators=tganc.TGANCRecipe().model.discriminators) == \
            tganc.TGANCRecipe().model, row
        assert recipe.train == tganc.TGANCRecipe().train and recipe.data == tganc.TGANCRecipe().data
    assert rows["video-frame-motion"].model.discriminators == tuple(DiscriminatorKind)
    with pytest.raises(ValueError, match="unknown ablation row"):
        tganc.ablation("motion-only")
