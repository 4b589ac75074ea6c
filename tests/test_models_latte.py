"""Latte's four variants, two patch embeddings and two frame positions."""

import itertools

import pytest
import torch

from reference.models.latte import FramePosition, Latte, LatteConfig, LatteVariant, PatchKind, block_axes
from reference.nn.attention import Axis
from tests.conftest import check_model_contract

CONFIGS = [LatteConfig.tiny(variant=v, patch_kind=p, frame_position=r)
           for v, p, r in itertools.product(LatteVariant, PatchKind, FramePosition)]


def inputs(batch=2, frames=4, size=16):
    def make():
        g = torch.Generator().manual_seed(0)
        tokens = torch.randint(1, 19, (batch, 6), generator=g)
        tokens[-1] = 0  # the null caption
        return torch.randn(batch, 3, frames, size, size, generator=g), torch.randint(0, 1000, (batch,), generator=g), tokens
    return make


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: f"{c.variant.value}-{c.patch_kind.value}-{c.frame_position.value}")
def test_contract(config):
    check_model_contract(Latte(config), inputs(), (2, 3, 4, 16, 16))


def test_fresh_model_predicts_zero():
    assert torch.equal(Latte(LatteConfig.tiny())(*inputs()()), torch.zeros(2, 3, 4, 16, 16))


def test_variants_differ_only_in_where_attention_runs():
    config = LatteConfig(depth=4)
    axes = {v: block_axes(LatteConfig(variant=v, depth=4)) for v in LatteVariant}
    assert axes[LatteVariant.INTERLEAVED] == [(Axis.SPACE,), (Axis.TIME,), (Axis.SPACE,), (Axis.TIME,)]
    assert axes[LatteVariant.LATE_FUSION] == [(Axis.SPACE,), (Axis.SPACE,), (Axis.TIME,), (Axis.TIME,)]
    params = {v: sum(p.numel() for p in Latte(LatteConfig(variant=v, depth=config.depth)).parameters()) for v in LatteVariant}
    assert params[LatteVariant.INTERLEAVED] == params[LatteVariant.LATE_FUSION] == params[LatteVariant.SPLIT_HEADS]
    assert params[LatteVariant.SPLIT_ATTENTION] > params[LatteVariant.INTERLEAVED]  # one more attention per block


def perturbed(config):
    model = Latte(config)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return model.eval()


@pytest.mark.parametrize("variant", list(LatteVariant))
def test_every_variant_mixes_frames(variant):
    """A change in frame 0 reaches the last frame's output in every variant (they all see time)."""
    model = perturbed(LatteConfig.tiny(variant=variant))
    x, t, tokens = inputs()()
    changed = x.clone()
    changed[:, :, 0] += 1
    with torch.no_grad():
        assert (model(changed, t, tokens) - model(x, t, tokens))[:, :, -1].abs().max() > 1e-4


def test_tubelets_have_fewer_tokens():
    uniform, tubelet = (Latte(LatteConfig.tiny(patch_kind=k)) for k in PatchKind)
    x = torch.randn(1, 3, 4, 16, 16)
    assert uniform.patch_embed(x)[0].shape[1] == 4 * 4 * 4
    assert tubelet.patch_embed(x)[0].shape[1] == 2 * 4 * 4


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="even depth"):
        Latte(LatteConfig.tiny(depth=3))
    model = Latte(LatteConfig.tiny(patch_kind=PatchKind.TUBELET))
    with pytest.raises(ValueError, match="multiple of the patch"):
        model(torch.randn(1, 3, 3, 16, 16), torch.tensor([1]), torch.ones(1, 3, dtype=torch.long))
    with pytest.raises(ValueError, match=r"\(b, c, f, h, w\)"):
        model(torch.randn(1, 3, 16, 16), torch.tensor([1]), torch.ones(1, 3, dtype=torch.long))
