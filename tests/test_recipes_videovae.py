"""Chapter 5's frame/video VAE recipes and the latent text-to-video recipe."""

import dataclasses

import pytest
import torch

from reference.data import ShapesDataset, collate
from reference.models.ldm import LatentVDMUNet
from reference.models.vdm import VDMUNetConfig
from reference.models.videovae import Design, VideoVAEConfig
from reference.recipes import latent, vae, videovae


def test_every_video_vae_trains_on_the_same_budget_and_clips():
    recipes = [videovae.VIDEO_DECODER, *videovae.DESIGNS.values()]
    assert all(r.train == videovae.VIDEO_TRAIN and r.data == videovae.VIDEO_DATA for r in recipes)
    assert videovae.FRAME.data.world.frames == 1  # the image VAE sees single frames only
    # 32 frames per step for every model: 32 images, or 4 clips of 8 frames.
    assert videovae.FRAME.train.batch_size == videovae.VIDEO_TRAIN.batch_size * videovae.CLIP.frames
    assert videovae.DESIGNS[Design.SIMULTANEOUS].init_from is None
    assert videovae.DESIGNS[Design.SEQUENTIAL].init_from == videovae.DESIGNS[Design.COMBINED].init_from == "vae-frame-tiny"
    assert videovae.DESIGNS[Design.COMBINED].init_temporal_from == "videovae-sequential-tiny"


def test_video_vae_loss_and_measurement():
    recipe = videovae.VideoVAERecipe.tiny(VideoVAEConfig.tiny(Design.SEQUENTIAL))
    model = videovae.build_model(recipe)
    data = ShapesDataset(recipe.data)
    batch = collate([data[i] for i in range(2)])
    loss = vae.make_loss(recipe)(model, batch, torch.Generator().manual_seed(0))
    reconstruction, kl = model(batch.video, generator=torch.Generator().manual_seed(0))
    expected = torch.nn.functional.mse_loss(reconstruction, batch.video) + recipe.kl_weight * kl.mean() / batch.video[0].numel()
    assert torch.allclose(loss, expected)
    metrics = videovae.evaluate(model.eval(), recipe)
    assert metrics["latent_shape"] == [2, 2, 8, 8] and metrics["compression"] == (3 * 4 * 16 * 16) / (2 * 2 * 8 * 8)
    assert metrics["psnr"] < 15 and metrics["motion_accuracy_of_originals"] == 1.0


def test_latent_scale_brings_latents_to_unit_variance():
    model = LatentVDMUNet(dataclasses.replace(VDMUNetConfig.tiny(), in_channels=2))
    latents = 3.0 * torch.randn(4, 2, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    scale = model.fit_latent_scale(latents)
    assert (latents * model.latent_scale).std().item() == pytest.approx(1.0, rel=1e-5)
    assert scale == pytest.approx(1 / 3, rel=0.05)
    assert "latent_scale" in model.state_dict()  # it ships with the weights
    with pytest.raises(ValueError, match="standard deviation"):
        model.fit_latent_scale(torch.zeros(2, 2))


def test_latent_recipe_matches_vdm_tiny_except_for_the_space():
    from reference.recipes import vdm

    recipe, pixel = latent.LatentT2VRecipe(), vdm.VDMRecipe()
    assert recipe.model.channels == pixel.model.channels and recipe.model.in_channels == 4
    # The same schedule, except that the pixel model's SNRs are shifted for its 4x wider frames (chapter 2).
    assert recipe.data == pixel.data and recipe.schedule == dataclasses.replace(pixel.schedule, snr_shift=1.0)
    assert pixel.schedule.snr_shift == 32 // 8
    assert recipe.parameterisation == pixel.parameterisation and recipe.sample_steps == pixel.sample_steps


def test_latent_video_model_inherits_the_image_model_and_its_scale():
    from reference.models.ldm import LatentUNet2D, LatentVDMUNet
    from reference.models.unet2d import UNet2DConfig

    video_config = dataclasses.replace(VDMUNetConfig.tiny(), in_channels=2)
    image = LatentUNet2D(video_config.image_config())
    image.fit_latent_scale(torch.randn(64) * 4)
    video = LatentVDMUNet(video_config)
    video.load_image_weights(image)
    assert video.latent_scale.item() == pytest.approx(image.latent_scale.item())
    assert latent.LATENT_FRAMES.data.world.frames == 1 and isinstance(latent.LATENT_FRAMES.model, UNet2DConfig)
    assert latent.LatentT2VRecipe().init_from == "latent-frames-tiny"
