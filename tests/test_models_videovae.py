"""VideoVAE's three designs (chapter 5): one compression ratio, and what each starts from."""

import pytest
import torch

from reference.models.vae import VAE, VAEConfig
from reference.models.videovae import Design, VideoVAE, VideoVAEConfig


@pytest.mark.parametrize("design", list(Design))
def test_every_design_compresses_to_the_same_latent(design):
    torch.manual_seed(0)
    model = VideoVAE(VideoVAEConfig.tiny(design)).eval()
    video = torch.randn(2, 3, 4, 16, 16)
    mean, logvar = model.encode(video)
    assert mean.shape == logvar.shape == (2, 2, 2, 8, 8)  # time / 2, space / 2, 2 channels
    reconstruction, kl = model(video, generator=torch.Generator().manual_seed(0))
    assert reconstruction.shape == video.shape and kl.shape == (2,)
    with pytest.raises(ValueError, match="multiple of the temporal factor 2"):
        model.encode(torch.randn(1, 3, 3, 16, 16))


def test_sequential_design_encodes_frames_with_the_frozen_image_vae():
    torch.manual_seed(0)
    image = VAE(VAEConfig.tiny()).eval()
    model = VideoVAE(VideoVAEConfig.tiny(Design.SEQUENTIAL)).eval()
    model.load_image_weights(image)
    trainable = {n.split(".")[0] for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"temporal"}  # only the light temporal autoencoder learns
    video = torch.randn(1, 3, 4, 16, 16)
    with torch.no_grad():
        assert torch.equal(model.spatial.encode(video)[0], image.encode(video)[0])


def test_combined_design_starts_from_the_image_vae_and_trains_everything():
    torch.manual_seed(0)
    image = VAE(VAEConfig.tiny()).eval()
    model = VideoVAE(VideoVAEConfig.tiny(Design.COMBINED)).eval()
    model.load_image_weights(image)
    assert all(p.requires_grad for p in model.parameters())
    assert model.spatial.config.temporal_encoder and model.spatial.config.temporal_decoder
    video = torch.randn(1, 3, 4, 16, 16)
    with torch.no_grad():  # temporal-aware spatial encoder == the image encoder at initialisation
        assert torch.allclose(model.spatial.encode(video)[0], image.encode(video)[0], atol=1e-5)


def test_simultaneous_design_compresses_time_inside_the_spatial_network():
    model = VideoVAE(VideoVAEConfig.tiny(Design.SIMULTANEOUS))
    assert model.temporal is None and model.spatial.config.time_levels == 1
    with pytest.raises(ValueError, match="trained from scratch"):
        model.load_image_weights(VAE(VAEConfig.tiny()))


def test_combined_design_fine_tunes_loaded_layers_at_a_lower_rate():
    model = VideoVAE(VideoVAEConfig.tiny(Design.COMBINED))
    assert len(model.parameter_groups(1e-3)) == 1  # nothing loaded yet: one rate for all
    model.load_image_weights(VAE(VAEConfig.tiny()))
    model.pretrained_lr_ratio = 0.1
    new, old = model.parameter_groups(1e-3)
    assert new["lr"] == 1e-3 and old["lr"] == pytest.approx(1e-4)
    loaded = {id(p) for p in old["params"]}
    for name, p in model.named_parameters():
        assert (id(p) in loaded) == (name.startswith("spatial.") and ".temporal_" not in name), name
    assert len(old["params"]) + len(new["params"]) == len(list(model.parameters()))


def test_combined_design_can_continue_the_sequential_temporal_autoencoder():
    torch.manual_seed(0)
    sequential = VideoVAE(VideoVAEConfig.tiny(Design.SEQUENTIAL))
    combined = VideoVAE(VideoVAEConfig.tiny(Design.COMBINED))
    combined.load_image_weights(VAE(VAEConfig.tiny()))
    combined.load_temporal_weights(sequential)
    assert all(torch.equal(a, b) for a, b in zip(combined.temporal.parameters(), sequential.temporal.parameters()))
    combined.pretrained_lr_ratio = 0.1
    new, old = combined.parameter_groups(1e-3)
    assert {id(p) for p in combined.temporal.parameters()} <= {id(p) for p in old["params"]}
    assert all(".temporal_" in n for n, p in combined.named_parameters() if id(p) in {id(q) for q in new["params"]})
    with pytest.raises(ValueError, match="temporal autoencoder"):
        combined.load_temporal_weights(VideoVAE(VideoVAEConfig.tiny(Design.SIMULTANEOUS)))
