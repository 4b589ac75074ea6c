"""MoCoGAN's recipe (chapter 6): one loss trains the three networks; samples are seeded; the card
reports ACD."""

import dataclasses

import torch

from reference.recipes import mocogan
from tests.conftest import modules_moved_by_training


def test_one_loss_trains_the_generator_and_both_critics():
    recipe = mocogan.MoCoGANRecipe.tiny()
    assert {"motion", "image", "image_critic", "video_critic"} <= modules_moved_by_training(
        mocogan.build_model(recipe), mocogan.make_loss(recipe), recipe)


def test_generation_is_seeded_and_evaluation_reports_content_distance():
    recipe = mocogan.MoCoGANRecipe.tiny()
    model = mocogan.build_model(recipe).eval()
    prompts = ["a red circle moving left", "a blue square standing still"]
    a, b = (mocogan.generate(model, recipe, prompts, seed=3, batch_size=size) for size in (2, 1))
    assert torch.allclose(a, b, atol=1e-6) and a.shape == (2, 3, 4, 16, 16)  # the batch does not change a clip
    metrics = mocogan.evaluate(model, recipe)
    assert metrics["eval_samples"] == 6 and metrics["acd_scored"] <= 1.0
    for key in ("caption_accuracy", "colour_accuracy", "centre_spread", "flicker"):
        assert 0.0 <= metrics[key] <= 1.0, key


def test_curve_points_leave_the_training_mode_as_they_found_it():
    recipe = mocogan.MoCoGANRecipe.tiny()
    model = mocogan.build_model(recipe).train()
    point = mocogan.curve_point(model, recipe)
    assert model.training and set(point) == {"colour", "shape", "motion", "all_correct", "acd"}


def test_the_route_ablation_differs_only_in_where_the_category_goes():
    from reference.models.mocogan import CategoryRoute

    image, paper = mocogan.with_route(CategoryRoute.IMAGE), mocogan.MoCoGANRecipe()
    assert paper.model.route is CategoryRoute.MOTION and image.model.route is CategoryRoute.IMAGE
    assert dataclasses.replace(image.model, route=CategoryRoute.MOTION) == paper.model
    assert (image.train, image.data, image.eval_seed) == (paper.train, paper.data, paper.eval_seed)


def test_mocogan_tiny_as_chapter_6_reports_it():
    """The shipped card: colour right and the motion word obeyed in about three clips of four (far
    above chapter 1's TGANs-C), shape at chance, colour drifting within a clip (ACD well above 0)."""
    from reference import zoo

    card, tganc = zoo.card("mocogan-tiny"), zoo.card("tganc-tiny")
    m = card["metrics"]
    assert card["hardware"].startswith("CPU") and m["eval_samples"] == 256
    assert m["colour_accuracy"] >= 0.95 and m["motion_accuracy"] >= 0.7 > tganc["metrics"]["motion_accuracy"] + 0.3
    assert m["shape_accuracy"] < 0.45 and m["acd"] > 5
    curve = card["curve"]
    assert curve[-1]["motion"] > curve[len(curve) // 2]["motion"] > curve[0]["motion"]  # still climbing


def test_the_category_through_the_gru_keeps_content_more_consistent():
    """Chapter 6's route ablation: the same motion accuracy either way; the paper's route (the GRU)
    has the lower ACD, higher persistence and wider layout spread than the code's (every frame)."""
    from reference import zoo

    paper, code = zoo.card("mocogan-tiny")["metrics"], zoo.card("mocogan-ablation-image")["metrics"]
    assert zoo.card("mocogan-ablation-image")["recipe"]["model"]["route"] == "image"
    assert abs(paper["motion_accuracy"] - code["motion_accuracy"]) < 0.05
    assert code["acd"] > 1.5 * paper["acd"] and code["persistence"] < paper["persistence"]
    assert code["centre_spread"] < 0.5 * paper["centre_spread"]
