import pytest
import torch

from reference.data import DatasetConfig, ShapesDataset, WorldConfig, render, scene_from_attributes
from reference.metrics import caption_accuracy, judge, parse_caption, psnr, ssim


def rendered(frames: int, size: int, n: int, seed: int):
    data = ShapesDataset(DatasetConfig(world=WorldConfig(frames=frames, height=size, width=size), length=n, seed=seed))
    samples = [data[i] for i in range(n)]
    return torch.stack([s.video for s in samples]), [s.caption for s in samples]


@pytest.mark.parametrize("frames", [8, 16])
@pytest.mark.parametrize("size", [32, 64])
@pytest.mark.parametrize("noise", [0.0, 0.05])
def test_judge_is_at_least_99_percent_right_on_rendered_videos(frames, size, noise):
    videos, captions = rendered(frames, size, n=100, seed=frames * size)
    videos = (videos + noise * torch.randn_like(videos)).clamp(-1, 1)
    accuracy = caption_accuracy(videos, captions)
    assert accuracy.colour >= 0.99 and accuracy.shape >= 0.99 and accuracy.motion >= 0.99
    assert accuracy.persistence == 1.0


def test_judge_reads_images_without_motion():
    images, captions = rendered(1, 32, n=100, seed=11)
    accuracy = caption_accuracy(images, captions)
    assert accuracy.motion is None
    assert accuracy.colour >= 0.99 and accuracy.shape >= 0.99


def test_judge_fails_wrong_prompts():
    videos, captions = rendered(8, 32, n=20, seed=2)
    shifted = captions[1:] + captions[:1]  # each video paired with another's caption
    assert caption_accuracy(videos, shifted).all_correct < 0.5


def test_flicker_is_near_zero_for_rendered_and_grows_with_jitter():
    videos, _ = rendered(8, 32, n=8, seed=3)
    clean = [j.flicker for j in judge(videos)]
    assert max(clean) < 0.005
    jitter = 0.3 * torch.randn(8, 1, 8, 1, 1)  # per-frame brightness change
    flickering = (videos + jitter * (videos > -1)).clamp(-1, 1) + 0.1 * torch.rand(8, 1, 8, 1, 1)
    assert min(j.flicker for j in judge(flickering.clamp(-1, 1))) > 5 * max(clean)


def test_persistence_drops_when_the_object_vanishes():
    video = render(scene_from_attributes([("red", "circle", "right")], seed=0, config=WorldConfig(frames=8)))
    video[:, 4:] = -1  # gone after frame 4
    assert judge(video[None])[0].persistence == pytest.approx(0.5)


def test_two_objects_are_both_found():
    config = WorldConfig(frames=8, height=64, width=64, max_size=0.3)
    scene = scene_from_attributes([("red", "square", "left"), ("cyan", "triangle", "down")], seed=0, config=config)
    accuracy = caption_accuracy(render(scene)[None], [scene.caption()])
    assert accuracy.colour == 1.0 and accuracy.shape >= 0.5


def test_parse_caption():
    assert parse_caption("a red square moving left and a blue circle") == [
        ("red", "square", "left"), ("blue", "circle", None)]
    assert parse_caption("a green triangle standing still") == [("green", "triangle", "still")]
    with pytest.raises(ValueError, match="expected 'a <colour> <shape>"):
        parse_caption("the red square")
    with pytest.raises(ValueError, match="motion"):
        parse_caption("a red square moving sideways")


def test_bad_shapes_raise():
    with pytest.raises(ValueError, match="expected videos"):
        judge(torch.zeros(3, 32, 32))
    with pytest.raises(ValueError, match="videos but 1 prompts"):
        caption_accuracy(torch.zeros(2, 3, 1, 8, 8), ["a red square"])


def test_psnr_and_ssim():
    x = torch.rand(2, 3, 4, 16, 16) * 2 - 1
    assert torch.allclose(ssim(x, x), torch.ones(2))
    noisy = x + 0.1 * torch.randn_like(x)
    mse = (noisy - x).pow(2).flatten(1).mean(1)
    assert torch.allclose(psnr(noisy, x), 10 * torch.log10(4 / mse))
    noisier = x + 0.3 * torch.randn_like(x)
    assert (psnr(noisier, x) < psnr(noisy, x)).all() and (ssim(noisier, x) < ssim(noisy, x)).all()
    with pytest.raises(ValueError, match="shapes differ"):
        psnr(x, x[:1])


def test_flicker_per_step_is_the_flicker_score_spread_over_steps():
    from reference.data import render, scene_from_attributes
    from reference.metrics import flicker_per_step, judge

    clip = render(scene_from_attributes([("red", "circle", "right")], seed=0))[None]  # (1, c, f, h, w)
    assert torch.allclose(flicker_per_step(clip), torch.zeros(1, clip.shape[2] - 1), atol=1e-3)  # rendered: ~none
    noisy = clip.clone()
    noisy[:, :, 3] += 0.2  # one brighter frame: the steps into and out of it flicker
    steps = flicker_per_step(noisy)[0]
    assert steps[2] > 0.05 and steps[3] > 0.05 and steps[[0, 1, 4, 5, 6]].max() < 1e-3
    assert steps.mean().item() == pytest.approx(judge(noisy)[0].flicker, rel=0.02)  # pooled vs per-step background
    with pytest.raises(ValueError, match="f >= 2"):
        flicker_per_step(clip[:, :, :1])


def test_motion_psnr_scores_what_moves():
    from reference.metrics import motion_psnr

    clip = render(scene_from_attributes([("red", "circle", "right")], seed=0))[None]
    assert motion_psnr(clip, clip).item() > 100  # identical: no error
    offset = clip + 0.1  # a constant error on every frame leaves the differences exact
    assert motion_psnr(offset, clip).item() > 100 and psnr(offset, clip).item() < 30
    frozen = clip[:, :, :1].expand_as(clip)  # the first frame held: right picture, no motion
    assert motion_psnr(frozen, clip).item() < 25
    with pytest.raises(ValueError, match="f >= 2"):
        motion_psnr(clip[:, :, :1], clip[:, :, :1])


def test_layout_spread_sees_collapse():
    from reference.metrics.diversity import layout_spread

    prompts = ["a red circle moving left"] * 8 + ["a blue square standing still"] * 8
    attrs = [("red", "circle", "left")] * 8 + [("blue", "square", "still")] * 8
    varied = torch.stack([render(scene_from_attributes([a], seed=i)) for i, a in enumerate(attrs)])
    collapsed = torch.cat([varied[:1].expand(8, -1, -1, -1, -1), varied[8:9].expand(8, -1, -1, -1, -1)])
    rendered, same = layout_spread(varied, prompts), layout_spread(collapsed, prompts)
    assert rendered.centre > 0.1 and rendered.area > 0.005 and rendered.empty == 0.0
    assert same.centre == 0.0 and same.area == 0.0
    black = layout_spread(-torch.ones(2, 3, 2, 8, 8), ["a red circle"] * 2)
    assert black.empty == 1.0 and black.centre == 0.0
    with pytest.raises(ValueError, match="at least two"):
        layout_spread(varied[:2], ["a red circle", "a blue square"])


def test_acd_is_zero_on_rendered_clips_and_two_thirds_of_a_colour_jump():
    """MoCoGAN's ACD: rendered clips keep their colour (about 0); a flat square that turns from red
    to green halfway through 4 frames has 8 of its 12 ordered frame pairs at distance
    |red - green| = 255 sqrt(2)."""
    from reference.data import WorldConfig, render_combinations
    from reference.metrics import average_content_distance

    rendered = render_combinations([("red", "circle", "left"), ("blue", "triangle", "up")], 0, WorldConfig())
    assert average_content_distance(rendered).acd < 0.5
    video = -torch.ones(1, 3, 4, 16, 16)
    video[0, 0, :2, 4:10, 4:10] = 1.0  # red
    video[0, 1, 2:, 4:10, 4:10] = 1.0  # green
    got = average_content_distance(video)
    assert got.scored == 1.0 and abs(got.acd - 2 / 3 * 255 * 2**0.5) < 1e-3
    assert average_content_distance(-torch.ones(2, 3, 4, 8, 8)).scored == 0.0


def test_size_drift_is_zero_on_rendered_clips_and_measures_a_growing_square():
    """Rendered objects keep their size while bouncing (drift a few % from the rim); a 4 x 4 square that grows
    to 6 x 6 in its second and last frame changed its area by 36 / 16 - 1 = 1.25."""
    from reference.data import WorldConfig, render_combinations
    from reference.metrics import size_drift

    rendered = render_combinations([("red", "circle", "left"), ("blue", "triangle", "up")], 0, WorldConfig())
    assert size_drift(rendered).drift < 0.1 and size_drift(rendered).scored == 1.0  # the anti-aliased rim: a few %
    video = -torch.ones(2, 3, 2, 16, 16)
    video[:, 0, 0, 4:8, 4:8] = 1.0
    video[:, 0, 1, 4:10, 4:10] = 1.0
    video[1, :, 0] = -1.0  # no object in the first frame: not scored
    got = size_drift(video)
    assert abs(got.drift - 1.25) < 1e-6 and abs(got.last - 1.25) < 1e-6 and got.scored == 0.5
    with pytest.raises(ValueError, match="f >= 2"):
        size_drift(video[:, :, :1])


def test_pooled_psnr_is_not_ruled_by_exact_copies():
    from reference.metrics import pooled_motion_psnr, pooled_psnr

    g = torch.Generator().manual_seed(0)
    target = torch.rand(4, 3, 5, 8, 8, generator=g) * 2 - 1
    prediction = target + 0.1 * torch.randn(target.shape, generator=g)
    mse = (prediction - target).pow(2).mean()
    assert abs(pooled_psnr(prediction, target) - (10 * torch.log10(4 / mse)).item()) < 1e-4
    prediction[0] = target[0]  # one sample copied exactly
    per_sample_mean = psnr(prediction, target).mean().item()
    assert per_sample_mean > 50  # 120 dB for the copy lifts the mean of four
    assert pooled_psnr(prediction, target) < 30  # the pooled MSE still sees the three wrong samples (26 dB each)
    still = target[:, :, :1].expand_as(target).clone()  # still clips: frame differences all zero
    assert pooled_motion_psnr(still, still) > 100
    moving = still.clone()
    moving[1:, :, 1:] += 0.2
    assert pooled_motion_psnr(still, moving) < 35 < psnr(still[:, :, 1:] - still[:, :, :-1], moving[:, :, 1:] - moving[:, :, :-1]).mean().item()
    with pytest.raises(ValueError, match="shapes differ"):
        pooled_psnr(prediction, target[:1])
