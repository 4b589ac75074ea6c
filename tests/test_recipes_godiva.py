"""GODIVA's recipes (chapter 1): what the VQ-VAE's loss trains, the frame-by-frame judge, the ablation."""

import dataclasses

from reference import evaluation
from reference.data import DatasetConfig, ShapesDataset, WorldConfig, collate
from reference.models.godiva import SparseAxis
from reference.recipes import godiva
from tests.conftest import modules_moved_by_training


def test_vqvae_loss_trains_encoder_decoder_and_codebook():
    recipe = godiva.VQVAERecipe.tiny()
    moved = modules_moved_by_training(godiva.build_vqvae(recipe), godiva.make_vqvae_loss(recipe), recipe)
    assert moved == {"encoder", "quantizer", "decoder"}


def test_by_frame_reads_each_frame_alone():
    data = ShapesDataset(DatasetConfig(world=WorldConfig(frames=4, height=32, width=32), length=8, seed=3))
    batch = collate([data[i] for i in range(8)])
    rendered = evaluation.by_frame(batch.video, batch.caption)
    assert len(rendered["colour_by_frame"]) == 4 and min(rendered["colour_by_frame"]) >= 0.85
    blanked = batch.video.clone()
    blanked[:, :, 2:] = -1  # the object vanishes after two frames
    late = evaluation.by_frame(blanked, batch.caption)["colour_by_frame"]
    assert late[:2] == rendered["colour_by_frame"][:2] and late[2:] == [0.0, 0.0]


def test_full_attention_ablation_changes_only_the_attention():
    base, full = godiva.GodivaRecipe(), godiva.FULL_ATTENTION
    assert full.prior.layer_axes() == [SparseAxis.FULL] * base.prior.depth
    assert dataclasses.replace(full, prior=base.prior) == base
