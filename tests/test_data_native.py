"""Native sizes (chapter 8): clips whole at several shapes, square crops, buckets of one shape, packed draws."""

import pytest
import torch

from reference.data import native
from reference.data.native import BucketBatches, BucketConfig, NativeConfig, NativeDataset, PackedBatches
from reference.metrics.judge import judge_video

SMALL = NativeConfig(sizes=((16, 16), (12, 20), (8, 24)), durations=(3, 5), length=500, seed=1)


def test_clips_come_whole_at_every_shape_and_crops_are_centred_squares():
    clips = NativeDataset(SMALL)
    seen = {clips.native_shape(i) for i in range(200)}
    assert seen == set(SMALL.shapes)
    for i in range(20):
        sample = clips[i]
        assert tuple(sample.video.shape[1:]) == clips.native_shape(i) == clips.shape(i)
        judged = judge_video(sample.video).objects[0]
        assert sample.caption.startswith(f"a {judged.colour} "), "the object is drawn, whole, at every shape"
    square = NativeDataset(NativeConfig(**{**SMALL.__dict__, "square": True}))
    for i in range(20):
        whole, crop = clips[i].video, square[i].video
        f, h, w = whole.shape[1:]
        s = min(h, w)
        assert crop.shape[1:] == (f, s, s) and square[i].caption == clips[i].caption
        assert torch.equal(crop, whole[..., (h - s) // 2 : (h - s) // 2 + s, (w - s) // 2 : (w - s) // 2 + s])


def test_a_square_crop_cuts_objects_a_native_clip_keeps_whole():
    """The claim the chapter tests: crops of wide clips lose part of the object in some clips."""
    config = NativeConfig(sizes=((8, 24),), durations=(5,), length=200, seed=2)
    whole, crop = NativeDataset(config), NativeDataset(NativeConfig(**{**config.__dict__, "square": True}))
    kept = [(crop[i].video > 0).any(dim=0).sum() / max((whole[i].video > 0).any(dim=0).sum(), 1) for i in range(60)]
    assert min(kept) < 0.5, "some crops should lose most of the object"


def test_every_bucket_batch_is_one_shape_and_fits_the_token_budget():
    buckets = BucketConfig(token_budget=4000)
    batches = BucketBatches(NativeDataset(SMALL), buckets, seed=0)
    shapes = set()
    for i in range(12):
        batch = batches[i]
        shape = tuple(batch.video.shape[2:])
        shapes.add(shape)
        assert batch.video.shape[0] == buckets.batch_size(shape) == 4000 // (shape[0] * shape[1] * shape[2])
        assert len(batch.caption) == batch.video.shape[0]
    assert len(shapes) > 2
    assert torch.equal(batches[3].video, batches[3].video), "a batch is a function of its index (resumable)"


def test_packed_draws_fill_the_budget_with_mixed_shapes():
    clips = NativeDataset(SMALL)

    def tokens_of(s):
        return s[0] * s[1] * s[2] // 16

    draws = PackedBatches(clips, token_budget=256, tokens_of=tokens_of, seed=0)
    for i in range(5):
        samples = draws[i]
        total = sum(tokens_of(tuple(s.video.shape[1:])) for s in samples)
        assert total <= 256 and total > 256 - max(tokens_of(s) for s in SMALL.shapes)
    assert len({tuple(s.video.shape[1:]) for i in range(5) for s in draws[i]}) > 2


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="no bucket"):
        native.bucket_of((9, 32, 32), ((5, 32, 32),))
    with pytest.raises(ValueError, match="more than the budget"):
        BucketConfig(token_budget=10).batch_size((5, 16, 16))
    with pytest.raises(ValueError, match="batch_size 1"):
        native.first([1, 2])
    with pytest.raises(ValueError, match="at least 4 x 4"):
        NativeConfig(sizes=((2, 8),))
