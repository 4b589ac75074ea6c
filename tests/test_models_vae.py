"""The frame VAE and its video versions (chapter 5): shapes, frame independence, identity
initialisation from the image VAE, where time mixes, and clear errors."""

import dataclasses

import pytest
import torch

from reference.models.vae import VAE, VAEConfig, kl_divergence


def _perturb_temporal(model: VAE, seed: int = 0) -> None:
    """Give the zero-initialised temporal layers some weight, as training would."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.startswith("temporal_"):
                p.add_(0.3 * torch.randn(p.shape, generator=generator))


def test_frame_vae_shapes_and_images():
    torch.manual_seed(0)
    model = VAE(VAEConfig.tiny()).eval()  # channels (8, 16): spatial factor 2
    video = torch.randn(2, 3, 4, 16, 16)
    mean, logvar = model.encode(video)
    assert mean.shape == logvar.shape == (2, 2, 4, 8, 8)
    assert model.decode(mean).shape == video.shape
    image_mean, _ = model.encode(video[:, :, 0])  # an image (b, c, h, w) gives (b, z, h, w)
    assert image_mean.shape == (2, 2, 8, 8)
    assert torch.allclose(image_mean, mean[:, :, 0], atol=1e-5)
    reconstruction, kl = model(video, generator=torch.Generator().manual_seed(0))
    assert reconstruction.shape == video.shape and kl.shape == (2,)


def test_frame_vae_treats_every_frame_alone():
    """The naive latent video VAE: changing one frame changes no other frame's latent or decoding."""
    torch.manual_seed(0)
    model = VAE(VAEConfig.tiny()).eval()
    video = torch.randn(1, 3, 4, 16, 16)
    changed = video.clone()
    changed[:, :, 2] = torch.randn(3, 16, 16)
    with torch.no_grad():
        a, b = model.encode(video)[0], model.encode(changed)[0]
        assert torch.equal(a[:, :, [0, 1, 3]], b[:, :, [0, 1, 3]]) and not torch.allclose(a[:, :, 2], b[:, :, 2])
        da, db = model.decode(a), model.decode(b)
    assert torch.allclose(da[:, :, [0, 1, 3]], db[:, :, [0, 1, 3]], atol=1e-6)


def test_video_decoder_starts_as_the_image_vae_then_mixes_frames():
    torch.manual_seed(0)
    image = VAE(VAEConfig.tiny()).eval()
    video_vae = VAE(dataclasses.replace(VAEConfig.tiny(), temporal_decoder=True)).eval()
    video_vae.load_image_weights(image)
    video = torch.randn(2, 3, 4, 16, 16)
    with torch.no_grad():
        z = image.encode(video)[0]
        assert torch.allclose(video_vae.encode(video)[0], z, atol=1e-6)
        assert torch.allclose(video_vae.decode(z), image.decode(z), atol=1e-5)  # zero-init temporal layers
        _perturb_temporal(video_vae)
        changed = z.clone()
        changed[:, :, 3] += 1.0
        out, out_changed = video_vae.decode(z), video_vae.decode(changed)
    assert not torch.allclose(out[:, :, 0], out_changed[:, :, 0], atol=1e-4)  # frame 0 now sees frame 3


def test_freeze_encoder_leaves_only_the_decoder_trainable():
    model = VAE(dataclasses.replace(VAEConfig.tiny(), temporal_decoder=True))
    model.freeze_encoder()
    for name, p in model.named_parameters():
        assert p.requires_grad == (name.startswith(("decoder_", "temporal_decoder"))), name
    assert any(n.startswith("temporal_decoder") for n, _ in model.named_parameters())


def test_time_levels_compress_frames():
    config = dataclasses.replace(VAEConfig.tiny(), temporal_encoder=True, temporal_decoder=True, time_levels=1)
    model = VAE(config).eval()
    video = torch.randn(1, 3, 4, 16, 16)
    mean, _ = model.encode(video)
    assert mean.shape == (1, 2, 2, 8, 8) and config.time_factor == 2
    assert model.decode(mean).shape == video.shape
    with pytest.raises(ValueError, match="multiple of 2"):
        model.encode(torch.randn(1, 3, 3, 16, 16))


def test_bad_configs_and_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="needs temporal layers"):
        VAEConfig(time_levels=1)
    with pytest.raises(ValueError, match="time_levels must be"):
        VAEConfig(channels=(8,), time_levels=1)
    model = VAE(VAEConfig.tiny())
    with pytest.raises(ValueError, match="multiples of 2"):
        model.encode(torch.randn(1, 3, 2, 15, 16))
    with pytest.raises(ValueError, match="expected videos"):
        model.encode(torch.randn(1, 1, 2, 16, 16))
    with pytest.raises(ValueError, match="expected latents"):
        model.decode(torch.randn(1, 5, 2, 8, 8))
    other = VAE(dataclasses.replace(VAEConfig.tiny(), latent_channels=3))
    with pytest.raises(ValueError, match="does not match"):
        VAE(dataclasses.replace(VAEConfig.tiny(), temporal_decoder=True)).load_image_weights(other)


def test_kl_divergence_is_zero_at_the_prior_and_positive_elsewhere():
    zeros = torch.zeros(2, 4, 3)
    assert torch.equal(kl_divergence(zeros, zeros), torch.zeros(2))
    mean = torch.full((1, 5), 2.0)
    assert torch.allclose(kl_divergence(mean, torch.zeros(1, 5)), torch.tensor([0.5 * 4.0 * 5]))
