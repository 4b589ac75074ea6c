import pytest
import torch

from reference.models import UNet2D, UNet2DConfig
from tests.conftest import check_model_contract


def inputs(batch=2, size=16, config=UNet2DConfig.tiny()):
    def make():
        g = torch.Generator().manual_seed(0)
        tokens = torch.randint(1, config.vocab_size, (batch, 6), generator=g)
        tokens[-1] = 0  # the last caption is the null prompt, so its learned vector is exercised
        return (
            torch.randn(batch, config.in_channels, size, size, generator=g),
            torch.randint(0, 1000, (batch,), generator=g),
            tokens,
        )
    return make


def test_contract():
    check_model_contract(UNet2D(UNet2DConfig.tiny()), inputs(), (2, 3, 16, 16))


def test_fresh_model_predicts_zero():
    """The zero-initialised output layer: an untrained model outputs exactly 0 (the mean of eps)."""
    model = UNet2D(UNet2DConfig.tiny())
    assert torch.equal(model(*inputs()()), torch.zeros(2, 3, 16, 16))


def perturbed_model() -> UNet2D:
    """A tiny model with every weight nudged off its initial value (so no layer is zero)."""
    model = UNet2D(UNet2DConfig.tiny())
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.02 * torch.randn_like(p))
    return model


def test_one_frame_video_equals_image():
    model = perturbed_model()
    x, t, tokens = inputs()()
    assert torch.allclose(model(x[:, :, None], t, tokens)[:, :, 0], model(x, t, tokens))


def test_caption_changes_the_output():
    model = perturbed_model()
    x, t, tokens = inputs()()
    other = tokens.flip(0)
    assert not torch.allclose(model(x, t, tokens), model(x, t, other))


def test_bad_inputs():
    model = UNet2D(UNet2DConfig.tiny())
    x, t, tokens = inputs()()
    with pytest.raises(ValueError, match="denoises images"):
        model(torch.zeros(2, 3, 4, 16, 16), t, tokens)
    with pytest.raises(ValueError, match="divisible by 2"):
        model(torch.zeros(2, 3, 15, 15), t, tokens)
