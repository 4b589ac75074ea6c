"""VDM's space-time UNet: inflation from the image UNet, temporal mixing, joint image-video masking."""

import dataclasses

import pytest
import torch

from reference.models import UNet2D, VDMUNet, VDMUNetConfig
from reference.models.vdm import ConvKind, TemporalAttention, TemporalPosition
from reference.nn.attention import attention
from tests.conftest import check_model_contract

CONFIGS = [
    VDMUNetConfig.tiny(),
    dataclasses.replace(VDMUNetConfig.tiny(), conv=ConvKind.INFLATED),
    dataclasses.replace(VDMUNetConfig.tiny(), temporal_position=TemporalPosition.SINUSOIDAL),
]


def inputs(batch=2, frames=4, size=16, config=VDMUNetConfig.tiny()):
    def make():
        g = torch.Generator().manual_seed(0)
        tokens = torch.randint(1, config.vocab_size, (batch, 6), generator=g)
        tokens[-1] = 0  # the last caption is the null prompt, so its learned vector is exercised
        return (
            torch.randn(batch, config.in_channels, frames, size, size, generator=g),
            torch.randint(0, 1000, (batch,), generator=g),
            tokens,
        )
    return make


def perturb(model: torch.nn.Module, scale: float = 0.05) -> torch.nn.Module:
    with torch.no_grad():
        for p in model.parameters():
            p.add_(scale * torch.randn_like(p))
    return model


@pytest.mark.parametrize("config", CONFIGS, ids=["spatial", "inflated", "sinusoidal"])
def test_contract(config):
    check_model_contract(VDMUNet(config), inputs(config=config), (2, 3, 4, 16, 16))


@pytest.mark.parametrize("config", CONFIGS, ids=["spatial", "inflated", "sinusoidal"])
def test_inflated_model_equals_image_model_before_training(config):
    """Image weights in the spatial layers + identity temporal layers = the image model on every frame."""
    image = perturb(UNet2D(config.image_config())).eval()
    video = VDMUNet(config)
    video.load_image_weights(image)
    video.eval()
    x, t, tokens = inputs(config=config)()
    with torch.no_grad():
        expected = torch.stack([image(x[:, :, i], t, tokens) for i in range(x.shape[2])], dim=2)
        assert torch.allclose(video(x, t, tokens), expected, atol=1e-5)


def test_image_weights_must_match():
    image = UNet2D(dataclasses.replace(VDMUNetConfig.tiny(), channels=(8, 32)).image_config())
    with pytest.raises(ValueError, match="does not match"):
        VDMUNet(VDMUNetConfig.tiny()).load_image_weights(image)


@pytest.mark.parametrize("config", CONFIGS, ids=["spatial", "inflated", "sinusoidal"])
def test_frames_mix_unless_independent(config):
    """A change to frame 0 reaches frame 3 through the temporal layers, unless the sample is
    flagged independent (VDM's masking for joint image-video training)."""
    model = perturb(VDMUNet(config)).eval()
    x, t, tokens = inputs(config=config)()
    changed = x.clone()
    changed[:, :, 0] += 1.0
    for independent, should_move in [(torch.tensor([False, False]), True), (torch.tensor([True, True]), False)]:
        with torch.no_grad():
            moved = (model(changed, t, tokens, independent) - model(x, t, tokens, independent))[:, :, 3].abs().max()
        assert (moved > 1e-4) == should_move, (independent, moved)


@pytest.mark.parametrize("config", CONFIGS, ids=["spatial", "inflated", "sinusoidal"])
def test_independent_frames_equal_separate_images(config):
    """An independent sample's f frames are denoised exactly as f one-frame videos; the other
    sample in the same batch is a real video and is unaffected by the flag."""
    model = perturb(VDMUNet(config)).eval()
    x, t, tokens = inputs(config=config)()
    independent = torch.tensor([True, False])
    with torch.no_grad():
        joint = model(x, t, tokens, independent)
        frames = torch.cat([model(x[:1, :, i : i + 1], t[:1], tokens[:1]) for i in range(x.shape[2])], dim=2)
        video_alone = model(x[1:], t[1:], tokens[1:])
    assert torch.allclose(joint[:1], frames, atol=1e-5)
    assert torch.allclose(joint[1:], video_alone, atol=1e-5)


def test_relative_bias_depends_on_offset_only():
    layer = TemporalAttention(8, 2, 4, TemporalPosition.RELATIVE, max_frames=6)
    with torch.no_grad():
        layer.relative_bias.copy_(torch.randn_like(layer.relative_bias))
    bias = layer.bias(5, torch.tensor([False]))[0]  # (heads, f, f)
    for i in range(4):
        for j in range(4):
            assert torch.equal(bias[:, i, j], bias[:, i + 1, j + 1])


def test_float_bias_fused_equals_readable():
    q, k, v = torch.randn(3, 2, 4, 5, 8).unbind(0)
    bias = torch.randn(4, 5, 5)
    bias[:, 0, 1:] = float("-inf")
    assert torch.allclose(attention(q, k, v, bias, fused=True), attention(q, k, v, bias, fused=False), atol=1e-5)


def test_bad_inputs_raise():
    model = VDMUNet(VDMUNetConfig.tiny())
    x, t, tokens = inputs()()
    with pytest.raises(ValueError, match=r"\(b, c, f, h, w\)"):
        model(x[:, :, 0], t, tokens)
    with pytest.raises(ValueError, match="max_frames"):
        model(torch.randn(1, 3, 9, 16, 16), t[:1], tokens[:1])
    with pytest.raises(ValueError, match="divisible"):
        model(torch.randn(1, 3, 2, 15, 16), t[:1], tokens[:1])
    with pytest.raises(ValueError, match="bool"):
        model(x, t, tokens, torch.tensor([1, 0]))
