"""TimeSformer-style classifier: the paper's parameter table, and what each attention scheme can see."""

import dataclasses

import pytest
import torch

from reference.models.timesformer import VideoViT, VideoViTConfig
from reference.nn.attention import Variant
from reference.recipes import timesformer as recipe
from tests.conftest import check_model_contract

# TimeSformer (Bertasius et al., 2021), table 1: parameters of ViT-B/16 on 8 x 224 x 224 clips.
PAPER_PARAMS_M = {Variant.SPACE: 85.9, Variant.JOINT: 85.9, Variant.DIVIDED: 121.4, Variant.SPARSE: 121.4,
                  Variant.AXIAL: 156.8}


def meta_params(config: VideoViTConfig) -> int:
    with torch.device("meta"):  # shapes only: no memory for 150M parameters
        return sum(p.numel() for p in VideoViT(config).parameters())


@pytest.mark.parametrize("variant", list(Variant))
def test_vit_base_parameters_match_timesformer_table(variant):
    """Within 0.1% of the paper with the 174-class head of Something-Something-v2."""
    params = meta_params(VideoViTConfig.vit_base(variant, classes=174))
    assert abs(params / 1e6 - PAPER_PARAMS_M[variant]) / PAPER_PARAMS_M[variant] < 1e-3


def test_the_kinetics_head_would_not_match():
    """The 400-class head adds 0.17M and leaves the table: the paper's counts use the SSv2 head."""
    params = meta_params(VideoViTConfig.vit_base(Variant.SPACE, classes=400))
    assert abs(params / 1e6 - 85.9) / 85.9 > 1e-3


def clips(config=VideoViTConfig.tiny(), batch=2):
    return lambda: (torch.randn(batch, config.in_channels, config.frames, config.image_size, config.image_size,
                                generator=torch.Generator().manual_seed(0)),)


@pytest.mark.parametrize("variant", list(Variant))
def test_contract(variant):
    config = VideoViTConfig.tiny(variant)
    check_model_contract(VideoViT(config), clips(config), (2, config.classes))


@pytest.mark.parametrize("variant", list(Variant))
def test_only_space_only_attention_is_blind_to_frame_order(variant):
    """Space-only attention pools frames it saw one by one: reversing time cannot change its answer.
    Every other scheme mixes frames and knows their positions, so it can tell left from right."""
    model = VideoViT(VideoViTConfig.tiny(variant)).eval()
    if variant is not Variant.SPACE:  # the time embedding starts at zero; as if training had moved it
        torch.nn.init.normal_(model.time_embed, std=0.5)
    (x,) = clips()()
    with torch.no_grad():
        same = torch.allclose(model(x), model(x.flip(2)), atol=1e-5)
    assert same == (variant is Variant.SPACE)


def test_bad_clip_shape_raises():
    with pytest.raises(ValueError, match="expected videos"):
        VideoViT(VideoViTConfig.tiny())(torch.randn(1, 3, 5, 16, 16))


def test_counted_flops_include_attention():
    """Joint minus space-only is exactly the extra q k^T and weights-times-values work: 4 d (n^2 - f (h w)^2) a block."""
    c = VideoViTConfig.tiny()
    flops = {v: recipe.forward_flops(VideoViT(dataclasses.replace(c, variant=v))) for v in (Variant.SPACE, Variant.JOINT)}
    f, hw = c.frames, (c.image_size // c.patch) ** 2
    assert flops[Variant.JOINT] - flops[Variant.SPACE] == c.depth * 4 * c.dim * ((f * hw) ** 2 - f * hw**2)


@pytest.mark.parametrize("task", list(recipe.Task))
def test_labels_agree_with_captions(task):
    data = recipe.ClassifierRecipe.tiny(task=task).data
    clips_ = recipe.LabelledClips(data, task)
    for i in range(8):
        caption = clips_.clips[i].caption
        assert recipe.LABELS[task][clips_[i].label] in caption.split()


def test_recipe_checks_classes():
    bad = dataclasses.replace(recipe.ClassifierRecipe.tiny(task=recipe.Task.SHAPE),
                              model=VideoViTConfig.tiny())  # 3 classes fits shape ...
    recipe.build_model(bad)
    with pytest.raises(ValueError, match="classes"):  # ... but not motion's 5
        recipe.build_model(dataclasses.replace(bad, task=recipe.Task.MOTION))
