import pytest
import torch

from reference.nn.causal import CausalConv3d


def test_no_frame_sees_the_future():
    conv = CausalConv3d(3, 4)
    x = torch.randn(2, 3, 6, 8, 8)
    later = x.clone()
    later[:, :, 3:] = torch.randn_like(later[:, :, 3:])  # change frames 3, 4, 5
    out, out_later = conv(x), conv(later)
    assert torch.equal(out[:, :, :3], out_later[:, :, :3])
    assert not torch.allclose(out[:, :, 3:], out_later[:, :, 3:])


def test_an_image_is_encoded_as_the_first_frame_of_a_video():
    conv = CausalConv3d(3, 4)
    video = torch.randn(1, 3, 5, 8, 8)
    assert torch.allclose(conv(video[:, :, :1]), conv(video)[:, :, :1], atol=1e-6)


def test_temporal_stride_keeps_the_first_frame_alone():
    conv = CausalConv3d(2, 2, stride_t=2)
    out = conv(torch.randn(1, 2, 9, 4, 4))  # 4k + 1 frames -> k + 1
    assert out.shape[2] == 5


def test_equals_diffusers_cogvideox_causal_conv():
    """Oracle: diffusers' CogVideoXCausalConv3d (constant mode) with the same weights."""
    from diffusers.models.autoencoders.autoencoder_kl_cogvideox import CogVideoXCausalConv3d

    ours = CausalConv3d(3, 5)
    theirs = CogVideoXCausalConv3d(3, 5, kernel_size=3, pad_mode="constant")
    theirs.conv.load_state_dict(ours.conv.state_dict())
    x = torch.randn(2, 3, 7, 8, 8)
    expected, _ = theirs(x)
    assert torch.allclose(ours(x), expected, atol=1e-5)


def test_bad_arguments():
    with pytest.raises(ValueError, match="odd"):
        CausalConv3d(3, 3, kernel=2)
    with pytest.raises(ValueError, match=r"\(b, c, f, h, w\)"):
        CausalConv3d(3, 3)(torch.randn(1, 3, 8, 8))
