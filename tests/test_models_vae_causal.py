"""The CogVideoX-style causal VAE: frame arithmetic, causality, images as first frames."""

import pytest
import torch

from reference.models.vae_causal import CausalVAE, CausalVAEConfig, compress_time, expand_time


def model() -> CausalVAE:
    return CausalVAE(CausalVAEConfig.tiny()).eval()


@pytest.mark.parametrize("k", [0, 1, 2])
def test_4k_plus_1_frames_become_k_plus_1(k):
    vae = model()
    x = torch.randn(1, 3, 4 * k + 1, 16, 16)
    mean, logvar = vae.encode(x)
    assert mean.shape == logvar.shape == (1, 2, k + 1, 4, 4)
    assert vae.decode(mean).shape == x.shape


def test_encoder_is_causal():
    """Latent frame j sees input frames 0 .. 4j only: changing later frames leaves it alone."""
    vae = model()
    x = torch.randn(1, 3, 9, 16, 16)
    changed = x.clone()
    changed[:, :, 5:] += torch.randn_like(changed[:, :, 5:])  # frames 5..8 belong to latent frame 2
    with torch.no_grad():
        before, after = vae.encode(x)[0], vae.encode(changed)[0]
    assert torch.allclose(before[:, :, :2], after[:, :, :2], atol=1e-6)
    assert not torch.allclose(before[:, :, 2], after[:, :, 2])


def test_an_image_is_the_first_frame_of_a_video():
    vae = model()
    video = torch.randn(2, 3, 9, 16, 16)
    with torch.no_grad():
        image_latent = vae.encode(video[:, :, :1])[0]
        video_latent = vae.encode(video)[0]
        assert torch.allclose(image_latent, video_latent[:, :, :1], atol=1e-5)
        assert torch.allclose(vae.decode(image_latent), vae.decode(video_latent)[:, :, :1], atol=1e-5)


def test_time_compression_round_trip_keeps_the_first_frame():
    x = torch.randn(1, 2, 5, 3, 3)
    down = compress_time(x)
    assert down.shape[2] == 3 and torch.equal(down[:, :, 0], x[:, :, 0])
    assert torch.allclose(down[:, :, 1], (x[:, :, 1] + x[:, :, 2]) / 2)
    assert expand_time(down).shape[2] == 5


def test_forward_gives_reconstruction_and_kl():
    vae = CausalVAE(CausalVAEConfig.tiny())
    x = torch.randn(2, 3, 5, 16, 16)
    recon, kl = vae(x, torch.Generator().manual_seed(0))
    assert recon.shape == x.shape and kl.shape == (2,) and (kl >= 0).all()
    (recon.square().mean() + kl.mean()).backward()
    assert all(p.grad is not None for p in vae.parameters())


def test_bad_inputs_name_the_valid_frame_counts():
    vae = model()
    with pytest.raises(ValueError, match=r"1 \+ 4k frames \(1, 5, 9, 13, 17"):
        vae.encode(torch.randn(1, 3, 8, 16, 16))
    with pytest.raises(ValueError, match="multiples of 4"):
        vae.encode(torch.randn(1, 3, 5, 18, 16))
    with pytest.raises(ValueError, match="time_levels"):
        CausalVAEConfig(channels=(8, 16), time_levels=2)
