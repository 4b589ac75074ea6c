"""Make-A-Video's stages (chapter 4): each trained, grown from the one before, and measured through
a sandbox zoo with a test CLIP and prior."""

import dataclasses

import pytest
import torch

from reference import zoo
from reference.models.cascade import is_temporal
from reference.recipes import cascade, clip, prior
from reference.recipes.cascade import Stage, StageRecipe
from reference.registry import chapter_4
from tests.conftest import train_sandbox_zoo


def tiny_stages() -> dict[str, StageRecipe]:
    d = StageRecipe.tiny(Stage.DECODER)
    dt = StageRecipe.tiny(Stage.DECODER, frames=5, skips=(1, 2), init_from="decoder-test", freeze_spatial=True)
    f = StageRecipe.tiny(Stage.INTERPOLATION, frames=9, skips=(2, 4, 8), extrapolate=0.25, init_from="decoder-t-test",
                         widen=4)
    sr = StageRecipe.tiny(Stage.SUPERRES, factor=2)
    srt = StageRecipe.tiny(Stage.SUPERRES, frames=5, factor=2, init_from="sr-low-test", freeze_spatial=True)
    srh = StageRecipe.tiny(Stage.SUPERRES, factor=2, size=32)
    return {"decoder-test": d, "decoder-t-test": dt, "interpolation-test": f, "sr-low-test": sr, "sr-low-t-test": srt,
            "sr-high-test": srh}


@pytest.fixture(scope="module")
def stage_zoo(tmp_path_factory):
    monkeypatch = pytest.MonkeyPatch()
    tmp_path = tmp_path_factory.mktemp("cascade")
    prior_recipe = prior.PriorRecipe.tiny()
    entries = {"clip-test": dataclasses.replace(zoo.REGISTRY["clip-tiny"], name="clip-test",
                                                recipe=dataclasses.replace(clip.CLIPRecipe.tiny(), data=prior_recipe.data)),
               "prior-test": dataclasses.replace(zoo.REGISTRY["prior-tiny"], name="prior-test", recipe=prior_recipe)}
    base = {"decoder": chapter_4.DECODER, "decoder-t": chapter_4.DECODER_T, "interpolation": chapter_4.INTERPOLATION,
            "sr-low": chapter_4.SR_LOW, "sr-low-t": chapter_4.SR_LOW_T, "sr-high": chapter_4.SR_HIGH}
    for name, recipe in tiny_stages().items():
        entries[name] = dataclasses.replace(base[name.removesuffix("-test")], name=name, recipe=recipe)
    entries["cascade-test"] = dataclasses.replace(chapter_4.CASCADE, name="cascade-test", recipe=cascade.CascadeRecipe(
        prior="prior-test", decoder="decoder-t-test", interpolation="interpolation-test", sr_low="sr-low-t-test",
        sr_high="sr-high-test", eval_samples=4, noise_samples=3, batch_clips=2))
    train_sandbox_zoo(entries, tmp_path, monkeypatch)
    yield entries
    monkeypatch.undo()


def test_every_stage_trains_and_measures(stage_zoo):
    m = {name: zoo.card(name)["metrics"] for name in stage_zoo if name not in ("clip-test", "prior-test", "cascade-test")}
    for side in ("prior", "frame"):
        assert 0 <= m["decoder-test"][f"{side}_object_accuracy"] <= m["decoder-test"][f"{side}_colour_accuracy"] <= 1
    assert 0 <= m["decoder-t-test"]["caption_accuracy"] <= m["decoder-t-test"]["motion_accuracy"] <= 1
    assert m["decoder-t-test"]["held_out_loss"] > 0
    for skip in (2, 4, 8):
        for what in ("", "_blend", "_nearest"):
            assert m["interpolation-test"][f"skip_{skip}{what}_psnr"] > 0
    assert m["sr-low-t-test"]["image_psnr"] > 0 and m["sr-low-test"]["shared_noise_flicker"] >= 0


def test_grown_stages_start_from_their_parents_and_keep_frozen_weights(stage_zoo):
    image, video = zoo.load("decoder-test", "cpu"), zoo.load("decoder-t-test", "cpu")
    video_state = video.state_dict()
    for name, value in image.state_dict().items():
        assert torch.equal(video_state[name], value), f"{name} moved although frozen"
    assert zoo.card("decoder-t-test")["initialised_from"]["trainable_parameters"] == sum(
        p.numel() for n, p in video.named_parameters() if is_temporal(n))
    interp = zoo.load("interpolation-test", "cpu")
    assert interp.config.unet.cond_channels == 4


def test_baselines_blend_and_repeat():
    clip_ = torch.zeros(1, 3, 5, 2, 2)
    clip_[:, :, 0], clip_[:, :, 4] = -1.0, 1.0
    mask = cascade.given_mask(5, skip=4)
    out = cascade.baselines(clip_, mask)
    assert torch.allclose(out["blend"][0, 0, :, 0, 0], torch.tensor([-1.0, -0.5, 0.0, 0.5, 1.0]))
    assert out["nearest"][0, 0, :, 0, 0].tolist() == [-1.0, -1.0, -1.0, 1.0, 1.0]
    first = cascade.baselines(clip_, cascade.given_mask(5, first=1))
    assert first["blend"][0, 0, :, 0, 0].tolist() == [-1.0] * 5


def test_masks_and_bad_skips():
    assert cascade.given_mask(9, skip=4).tolist() == [True, False, False, False, True, False, False, False, True]
    assert cascade.given_mask(9, first=2).sum() == 2
    with pytest.raises(ValueError, match="does not end on the last"):
        cascade.given_mask(9, skip=3)
    with pytest.raises(ValueError, match="name a skip"):
        cascade.given_mask(9)
    cond = cascade.masked_input(torch.ones(2, 3, 9, 4, 4), cascade.given_mask(9, skip=8))
    assert cond.shape == (2, 4, 9, 4, 4) and cond[:, :, 1].eq(0).all() and cond[:, 3, 8].eq(1).all()


def test_shrink_is_area_averaging_and_enlarge_restores_size():
    video = torch.arange(16.0).view(1, 1, 1, 4, 4).expand(1, 3, 2, 4, 4)
    small = cascade.shrink(video, 2)
    assert small.shape == (1, 3, 2, 2, 2) and small[0, 0, 0, 0, 0] == (0 + 1 + 4 + 5) / 4
    assert cascade.enlarge(small, 4).shape == video.shape


def test_condition_noise_gives_each_clip_its_own_level_within_the_bound():
    low = torch.zeros(512, 3, 2, 4, 4)
    assert cascade.augment_condition(low, 0.0, torch.Generator().manual_seed(0)) is low
    noisy = cascade.augment_condition(low, 0.3, torch.Generator().manual_seed(0))
    std = noisy.flatten(1).std(1)
    assert std.max() < 0.3 * 1.25 and std.min() < 0.05 and std.std() > 0.05  # levels spread over [0, 0.3]
    with pytest.raises(ValueError, match="standard deviation"):
        StageRecipe.tiny(Stage.SUPERRES, factor=2, condition_noise=-0.1)


def test_shared_noise_is_one_image_per_clip():
    noise = cascade.shared_noise(2, 3, 4, 8, 8, seed=0)
    assert torch.equal(noise[:, :, 0], noise[:, :, 3]) and not torch.equal(noise[0], noise[1])


def test_the_cascade_runs_end_to_end_with_each_stage_at_its_size(stage_zoo):
    model = zoo.load("cascade-test", "cpu")
    out = cascade.run_cascade(model, ["a red circle moving left", "a blue square standing still"], seed=0)
    shapes = {name: tuple(getattr(out, name).shape[1:]) for name in ("keys", "frames", "low", "high")}
    assert shapes == {"keys": (3, 5, 8, 8), "frames": (3, 17, 8, 8), "low": (3, 17, 16, 16), "high": (3, 17, 32, 32)}
    window = cascade.WINDOW
    assert torch.equal(out.frames[:, :, :: cascade.KEY_SKIP], out.keys), "the key frames pass through ↑F unchanged"
    assert out.high.min() >= -1 and out.high.max() <= 1
    assert set(out.seconds) == {"prior", "decoder", "interpolation", "sr_low", "sr_high"}
    again = cascade.generate(model, model.recipe, ["a red circle moving left"], seed=0)
    assert again.shape == (1, 3, 17, 32, 32) and window == 9
    card = zoo.card("cascade-test")
    assert card["steps"] == 0 and card["file_bytes"] < 1000, "the cascade's own file holds no weights"
    m = card["metrics"]
    assert m["flops_per_clip"] == sum(m[f"{s}_flops_per_clip"] for s in ("decoder", "interpolation", "sr_low", "sr_high"))
    assert 0 <= m["caption_accuracy"] <= 1 and m["seam_flicker"] >= 0
    assert m["noise_samples"] == 3, "SR_h's other noise runs on a subset that straddles two batches"
    assert "independent_noise_caption_accuracy" in m and "noise_subset_caption_accuracy" in m


def test_windows_share_only_their_end_key_frames():
    assert cascade.window_starts(5, 3) == [0, 2]
    assert cascade.window_starts(9, 3) == [0, 2, 4, 6]
    with pytest.raises(ValueError, match="do not split"):
        cascade.window_starts(6, 3)
