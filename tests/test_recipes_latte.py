"""The Latte recipes: ablation rows, FLOPs and the held-out loss that the chapter's tables use."""

import dataclasses

import pytest
import torch

from reference.models.latte import Latte, LatteConfig, PatchKind
from reference.recipes import latte


def test_each_ablation_row_changes_one_field_and_nothing_else():
    base = latte.ablation("variant1")
    for row, change in latte.ABLATIONS.items():
        recipe = latte.ablation(row)
        assert recipe.train == base.train and recipe.data == base.data and recipe.schedule == base.schedule
        differs = {f.name for f in dataclasses.fields(LatteConfig)
                   if getattr(recipe.model, f.name) != getattr(base.model, f.name)}
        assert differs == set(change), row
    with pytest.raises(ValueError, match="expected one of"):
        latte.ablation("variant5")


def test_tubelets_halve_the_flops():
    recipe = latte.LatteRecipe.tiny()
    uniform = latte.forward_flops(Latte(recipe.model), recipe)
    tubelet_recipe = latte.LatteRecipe.tiny(patch_kind=PatchKind.TUBELET)
    tubelet = latte.forward_flops(Latte(tubelet_recipe.model), tubelet_recipe)
    assert 0.4 < tubelet / uniform < 0.6


def test_held_out_loss_is_deterministic_and_starts_at_the_target_variance():
    """A fresh model predicts 0, so its loss is the mean square of the v-target, about 1; the
    number depends only on the model, not on global random state."""
    recipe = latte.LatteRecipe.tiny()
    model = Latte(recipe.model).eval()
    torch.manual_seed(1)
    first = latte.held_out_loss(model, recipe, clips_per_prompt=2)
    torch.manual_seed(2)
    assert latte.held_out_loss(model, recipe, clips_per_prompt=2) == first
    assert 0.8 < first < 1.2
    with torch.no_grad():  # a model that predicts something wrong scores worse than predicting 0
        model.final.unembed.proj.bias.fill_(-1.0)  # (the target is mostly positive: black is -1)
    assert latte.held_out_loss(model, recipe, clips_per_prompt=2) > first + 0.5
