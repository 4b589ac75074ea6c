"""VideoFusion's split denoiser: the decomposition it predicts, the stop-gradient of its losses,
and a base generator that starts as the image model."""

import pytest
import torch

from reference.diffusion.noise import decomposed_noise
from reference.models.unet2d import UNet2D, UNet2DConfig
from reference.models.videofusion import VideoFusion, VideoFusionConfig


def inputs(config: VideoFusionConfig, b: int = 2):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(b, 3, config.frames, 16, 16, generator=g)
    return x, torch.tensor([10, 700])[:b], torch.tensor([[5, 6, 7, 0], [0, 0, 0, 0]])[:b]


def perturbed(config: VideoFusionConfig = VideoFusionConfig.tiny()) -> VideoFusion:
    model = VideoFusion(config)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return model


def test_prediction_has_the_decomposed_form():
    config = VideoFusionConfig.tiny()
    model = perturbed(config)
    b_hat, r_hat = torch.randn(2, 3, 16, 16), torch.randn(2, 3, 4, 16, 16)
    assert torch.allclose(model.combine(b_hat, r_hat), decomposed_noise(b_hat[:, :, None], r_hat, config.lambdas()))
    x, t, tokens = inputs(config)
    out = model(x, t, tokens)
    assert out.shape == x.shape
    assert torch.allclose(out[:, :, config.key_frame], model.base_noise(x[:, :, config.key_frame], t, tokens), atol=1e-6)


def test_residual_loss_does_not_train_the_base():
    """Stop-gradient: the base generator's gradient comes from the key frame's loss alone."""
    model = perturbed()
    x, t, tokens = inputs(model.config)
    noise = torch.randn_like(x)
    model.loss(x, t, tokens, noise).backward()
    total = [p.grad.clone() for p in model.base.parameters()]
    model.zero_grad()
    k = model.config.key_frame
    torch.nn.functional.mse_loss(model.base_noise(x[:, :, k], t, tokens), noise[:, :, k]).backward()
    for full, key_only in zip(total, (p.grad for p in model.base.parameters())):
        assert torch.allclose(full, key_only, atol=1e-6)
    assert all(p.grad is None or p.grad.abs().sum() == 0 for p in model.residual.parameters()), "key loss only"


def test_the_base_starts_as_the_image_model_and_the_frame_index_conditions_the_residual():
    config = VideoFusionConfig.tiny()
    image = UNet2D(config.base)
    with torch.no_grad():
        for p in image.parameters():
            p.add_(0.05 * torch.randn_like(p))
    model = VideoFusion(config)
    model.load_image_weights(image)
    x, t, tokens = inputs(config)
    key = x[:, :, config.key_frame]
    assert torch.equal(model.base(key, t, tokens), image(key, t, tokens))
    residual = perturbed(config)
    with torch.no_grad():
        residual.frame_embed.weight.normal_()
    same = x[:, :, :1].expand_as(x).contiguous()  # every frame the same picture
    r = residual.residual_noise(same, torch.zeros_like(key), t, tokens)
    assert not torch.allclose(r[:, :, 0], r[:, :, 1]), "the residual knows which frame it sees"
    unet = UNet2D(UNet2DConfig.tiny())
    assert torch.equal(unet(key, t, tokens), unet(key, t, tokens, extra=torch.zeros(2, UNet2DConfig.tiny().embed_dim)))


def test_bad_configs_and_inputs_are_named():
    with pytest.raises(ValueError, match="key_frame"):
        VideoFusionConfig.tiny().__class__(frames=4, key_frame=4)
    with pytest.raises(ValueError, match="lambda"):
        VideoFusionConfig(lam=1.0)
    model = VideoFusion(VideoFusionConfig.tiny())
    with pytest.raises(ValueError, match=r"\(b, c, 4, h, w\)"):
        model(torch.zeros(1, 3, 3, 16, 16), torch.zeros(1, dtype=torch.long), torch.zeros(1, 4, dtype=torch.long))
