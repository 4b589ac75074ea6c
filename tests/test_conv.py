import pytest
import torch

from reference.nn.conv import Conv2Plus1d, Conv3d, InflatedConv, SpatialConv, TemporalConv, r2plus1d_width


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("n_in, n_out", [(3, 64), (64, 64), (64, 128), (128, 256), (16, 8)])
def test_2plus1d_has_the_3d_parameter_count_within_one_channel(n_in, n_out):
    full = Conv3d(n_in, n_out, kernel=3, kernel_t=3, bias=False)
    factorised = Conv2Plus1d(n_in, n_out, kernel=3, kernel_t=3, bias=False)
    one_channel = 3 * 3 * n_in + 3 * n_out  # what one more intermediate channel would cost
    assert 0 <= count(full) - count(factorised) < one_channel
    assert factorised.width == r2plus1d_width(n_in, n_out, 3, 3)


def test_r2plus1d_width_example_from_the_paper_setting():
    # 64 -> 64 channels with 3x3x3 kernels: M = 27*64*64 / (9*64 + 3*64) = 144
    assert r2plus1d_width(64, 64, 3, 3) == 144


@pytest.mark.parametrize("make", [lambda: Conv3d(4, 6), lambda: Conv2Plus1d(4, 6), lambda: InflatedConv(4, 6),
                                  lambda: SpatialConv(4, 6, 3, padding=1)])
def test_shapes_and_image_equals_one_frame_video(make):
    layer = make()
    video = torch.randn(2, 4, 5, 8, 8)
    assert layer(video).shape == (2, 6, 5, 8, 8)
    image = torch.randn(2, 4, 8, 8)
    assert torch.allclose(layer(image), layer(image[:, :, None])[:, :, 0], atol=1e-6)


def test_inflated_conv_starts_as_the_image_conv():
    image_conv = torch.nn.Conv2d(4, 6, 3, padding=1)
    inflated = InflatedConv(4, 6)
    inflated.spatial.load_state_dict(image_conv.state_dict())  # reuse the image weights as they are
    video = torch.randn(2, 4, 5, 8, 8)
    per_frame = torch.stack([image_conv(video[:, :, i]) for i in range(5)], dim=2)
    assert torch.allclose(inflated(video), per_frame, atol=1e-6)
    with torch.no_grad():
        inflated.temporal.weight.normal_()
    assert not torch.allclose(inflated(video), per_frame, atol=1e-3), "trained, it mixes frames"


def test_temporal_conv_mixes_only_neighbouring_frames():
    conv = TemporalConv(3, 3, kernel_t=3)
    video = torch.randn(1, 3, 7, 4, 4)
    changed = video.clone()
    changed[:, :, 0] += 1.0  # change the first frame only
    moved = (conv(changed) - conv(video)).abs().amax(dim=(0, 1, 3, 4))  # per frame
    assert (moved[:2] > 0).all() and (moved[2:] == 0).all()


def test_bad_arguments():
    with pytest.raises(ValueError, match="odd"):
        TemporalConv(3, 3, kernel_t=2)
    with pytest.raises(ValueError, match="expected"):
        SpatialConv(3, 3, 3)(torch.zeros(3, 8, 8))
    with pytest.raises(ValueError, match="cannot pass an image"):
        TemporalConv(3, 4)(torch.zeros(1, 3, 8, 8))
