"""The causal VAE's recipe (chapter 5): its loss trains the model and its card measures reconstruction."""

import torch

from reference.data import ShapesDataset, collate
from reference.recipes import vae


def test_loss_is_reconstruction_plus_a_small_kl():
    recipe = vae.CausalVAERecipe.tiny()
    model = vae.build_model(recipe)
    dataset = ShapesDataset(recipe.data)
    batch = collate([dataset[i] for i in range(2)])
    loss = vae.make_loss(recipe)(model, batch, torch.Generator().manual_seed(0))
    reconstruction, kl = model(batch.video, generator=torch.Generator().manual_seed(0))
    mse = torch.nn.functional.mse_loss(reconstruction, batch.video)
    assert torch.allclose(loss, mse + recipe.kl_weight * kl.mean() / batch.video[0].numel())


def test_evaluation_reports_reconstruction_and_compression():
    recipe = vae.CausalVAERecipe.tiny()
    metrics = vae.evaluate(vae.build_model(recipe).eval(), recipe)
    assert metrics["latent_shape"] == [2, 2, 4, 4]  # 5 frames -> 1 + 1 latent frames; 16 px -> 4
    assert metrics["compression"] == (3 * 5 * 16 * 16) / (2 * 2 * 4 * 4)
    assert metrics["motion_accuracy_of_originals"] == 1.0  # the judge reads the rendered clips right
    assert metrics["psnr"] < 15  # an untrained model reconstructs nothing
