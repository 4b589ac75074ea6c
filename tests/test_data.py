import pytest
import torch

from reference.data import (
    COLOURS,
    MOTIONS,
    SHAPES,
    DatasetConfig,
    Motion,
    ShapesDataset,
    Tokenizer,
    WorldConfig,
    collate,
    make_object,
    random_scene,
    render,
    scene_from_attributes,
    trajectory,
)


def test_palette_and_vocabulary_sizes():
    assert len(COLOURS) >= 6 and set(SHAPES) == {"circle", "square", "triangle"}
    assert set(MOTIONS) == {"left", "right", "up", "down", "still"}


@pytest.mark.parametrize("frames,height,width", [(1, 32, 32), (8, 32, 32), (16, 64, 64), (5, 24, 40)])
def test_render_shape_range_and_determinism(frames, height, width):
    config = WorldConfig(frames=frames, height=height, width=width)
    video = render(random_scene(3, config))
    assert video.shape == (3, frames, height, width)
    assert video.dtype == torch.float32
    assert video.min() >= -1 and video.max() <= 1
    assert (video > 0).any(), "an object must be visible"
    assert torch.equal(video, render(random_scene(3, config))), "same seed, same video"
    assert not torch.equal(video, render(random_scene(4, config)))


def test_antialias_switch_changes_only_edges():
    scene = random_scene(0, WorldConfig(frames=2))
    hard, soft = render(scene, antialias=False), render(scene, antialias=True)
    assert set(hard.unique().tolist()) <= {-1.0, 1.0}, "without anti-aliasing every channel is on or off"
    partial = ((soft > -1) & (soft < 1)).any()
    assert partial, "anti-aliasing gives partial pixels on the edges"
    assert (hard - soft).abs().mean() < 0.05


def test_motion_goes_the_named_way_then_bounces():
    config = WorldConfig(frames=40, height=32, width=32)
    for motion in ("left", "right", "up", "down"):
        scene = scene_from_attributes([("red", "square", motion)], seed=1, config=config)
        centre = trajectory(scene.objects[0], 40, 32, 32)  # (f, 2) as (y, x)
        dy, dx = Motion(motion).velocity
        first = centre[2] - centre[0]
        assert first[0] * dy >= 0 and first[1] * dx >= 0 and first.abs().sum() > 0
        axis = 0 if dy else 1
        steps = (centre[1:, axis] - centre[:-1, axis]).sign()
        assert (steps != steps[0]).any(), "over 40 frames the object must bounce off a wall"
        half = scene.objects[0].size / 2
        assert centre.min() >= half - 1e-6 and centre.max() <= 32 - half + 1e-6, "it stays inside the box"
    still = scene_from_attributes([("red", "square", "still")], seed=1, config=config)
    assert torch.equal(*render(still)[:, [0, -1]].unbind(1))


def test_captions_and_multiple_objects():
    config = WorldConfig(frames=4, num_objects=2, height=48, width=64)
    scene = random_scene(5, config)
    assert len(scene.objects) == 2
    caption = scene.caption()
    assert caption.count(" and ") == 1 and caption.startswith("a ")
    one = scene_from_attributes([("blue", "circle", "left")], seed=0, config=WorldConfig(frames=4))
    assert one.caption() == "a blue circle moving left"
    image = scene_from_attributes([("blue", "circle", "still")], seed=0, config=WorldConfig(frames=1))
    assert image.caption() == "a blue circle"
    assert scene_from_attributes([("red", "square", "still")], 0).caption() == "a red square standing still"


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: WorldConfig(frames=0), "frames must be >= 1"),
        (lambda: WorldConfig(colours=("mauve",)), "unknown colour 'mauve'"),
        (lambda: WorldConfig(max_size=1.5), "bigger than the canvas"),
        (lambda: scene_from_attributes([("red", "hexagon", "left")], 0), "unknown shape 'hexagon'"),
        (lambda: scene_from_attributes([("red", "square", "sideways")], 0), "sideways"),
    ],
)
def test_bad_arguments_raise_clear_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_object_that_cannot_fit_raises():
    import random

    with pytest.raises(ValueError, match="does not fit"):
        make_object("red", "square", "left", height=8, width=8, rng=random.Random(0),
                    config=WorldConfig(height=8, width=8, min_size=0.9, max_size=1.0, min_speed=0.5, max_speed=0.5))


def test_tokenizer_round_trip_and_errors():
    tok = Tokenizer(max_length=12)
    ids = tok.encode("a red square moving left and a blue circle standing still")
    assert ids.shape == (12,)
    assert tok.decode(ids) == "a red square moving left and a blue circle standing still"
    with pytest.raises(ValueError, match="not in the toy vocabulary"):
        tok.encode("a purple square")
    with pytest.raises(ValueError, match="at most 2 fit"):
        Tokenizer(max_length=2).encode("a red square")


def test_dataset_video_and_image_modes():
    videos = ShapesDataset(DatasetConfig(world=WorldConfig(frames=8), length=10))
    sample = videos[0]
    assert sample.video.shape == (3, 8, 32, 32) and sample.tokens.dim() == 1
    assert "moving" in sample.caption or "still" in sample.caption
    images = ShapesDataset(DatasetConfig(world=WorldConfig(frames=1), length=10))
    batch = collate([images[i] for i in range(4)])
    assert batch.video.shape == (4, 3, 1, 32, 32) and batch.tokens.shape[0] == 4
    assert all("moving" not in c for c in batch.caption)
    with pytest.raises(IndexError):
        videos[10]


def test_holdout_combinations_never_appear():
    held = (("red", "square", "left"), ("blue", "circle", "any"))
    data = ShapesDataset(DatasetConfig(world=WorldConfig(frames=4), length=400, holdout=held))
    for i in range(400):
        obj = data.scene(i).objects[0]
        assert (obj.colour, obj.shape, obj.motion.value) != ("red", "square", "left")
        assert (obj.colour, obj.shape) != ("blue", "circle")
