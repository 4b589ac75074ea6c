import matplotlib
import numpy as np
import pytest
import torch

from reference.viz import frame_grid, image_grid, mask_picture, save_video, to_uint8_frames

matplotlib.use("Agg")


def test_to_uint8_frames_layout_and_range():
    video = torch.linspace(-1, 1, 3 * 2 * 4 * 5).reshape(3, 2, 4, 5)
    frames = to_uint8_frames(video)
    assert frames.shape == (2, 4, 5, 3) and frames.dtype == np.uint8
    assert frames.min() == 0 and frames.max() == 255
    with pytest.raises(ValueError, match="one video"):
        to_uint8_frames(video[None])


def test_save_video_with_bundled_ffmpeg(tmp_path):
    path = save_video(torch.rand(3, 4, 8, 8) * 2 - 1, tmp_path / "clip.gif")
    assert path.stat().st_size > 0 and path.read_bytes()[:3] == b"GIF"


def test_figures():
    assert len(frame_grid(torch.zeros(2, 3, 4, 8, 8), titles=["a", "b"]).axes) == 8
    assert len(image_grid(torch.zeros(5, 3, 1, 8, 8), columns=4).axes) == 8
    assert mask_picture(torch.eye(4, dtype=torch.bool)) is not None


def test_query_steps_follow_the_masks():
    from reference.viz import attention_pattern, query_steps

    divided = query_steps("divided", 4, 6, 6, (1, 2, 1))
    assert divided[1, 2, 1] == 0  # the query
    assert (divided[:, 2, 1][[0, 2, 3]] == 1).all()  # first call: time, same position in other frames
    assert (divided[1] >= 0).all() and divided[1].eq(2).sum() == 6 * 6 - 1  # second call: its frame
    assert divided[0, 0, 0] == -1  # never read directly
    space = query_steps("space", 4, 6, 6, (1, 2, 1))
    assert (space[[0, 2, 3]] == -1).all()
    assert len(attention_pattern(["space", "divided", "axial"]).axes) == 12
