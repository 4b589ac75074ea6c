"""The framing metric (chapter 8): rendered clips are whole; crops and shifted clips are not."""

import pytest
import torch

from reference.data import render_combinations
from reference.data.native import centre_crop_square
from reference.data.world import WorldConfig
from reference.metrics.framing import cut_frames, framing

COMBOS = [(c, s, m) for c in ("red", "blue") for s in ("circle", "square", "triangle") for m in ("left", "right", "up", "still")]


@pytest.mark.parametrize("size", [(32, 32), (24, 40), (40, 24), (16, 48)])
def test_rendered_clips_are_never_cut_and_never_leave(size):
    clips = render_combinations(COMBOS, seed=0, config=WorldConfig(frames=9, height=size[0], width=size[1]))
    result = framing(clips)
    assert result.cut == 0.0 and result.leaves == 0.0 and result.n == len(COMBOS)


def test_square_crops_of_wide_clips_cut_objects():
    wide = render_combinations(COMBOS, seed=0, config=WorldConfig(frames=9, height=16, width=48))
    assert framing(centre_crop_square(wide)).cut > 0.2


def test_an_object_pushed_half_out_is_cut_and_one_that_slides_out_leaves():
    clip = render_combinations([("red", "square", "still")], seed=0, config=WorldConfig(frames=4, height=32, width=32))
    mask = (clip[0] > -1).any(dim=0)[0]  # (h, w)
    cols = mask.any(dim=0).nonzero().flatten()
    centre = int(cols.float().mean())
    shifted = torch.roll(clip, shifts=-centre, dims=-1)  # object centre on the left edge (wrapped part removed)
    shifted[..., -centre:] = -1
    assert cut_frames(shifted).all()
    sliding = torch.stack([torch.roll(clip[:, :, k], shifts=-6 * k, dims=-1) for k in range(4)], dim=2)
    for k in range(4):
        sliding[:, :, k, :, 32 - 6 * k :] = -1  # what rolled round is gone
    assert framing(sliding).leaves == 1.0


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="RGB clips"):
        framing(torch.zeros(2, 1, 3, 8, 8))
