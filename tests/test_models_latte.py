"""Latte's four variants, two patch embeddings and two frame positions."""

import itertools

import pytest
import torch
from einops import rearrange

from reference.models.latte import CaptionRoute, FramePosition, Latte, LatteConfig, LatteVariant, PatchKind, block_axes
from reference.nn.adaln import AdaLNZeroBlock
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


@pytest.mark.parametrize("axis", [Axis.SPACE, Axis.TIME], ids=["spatial", "temporal"])
def test_block_matches_diffusers_latte_block(axis):
    """Oracle: one spatial and one temporal block of diffusers' `LatteTransformer3DModel`, weights copied.

    Comparable part: the block's attention, MLP, norm and the shift/scale/gate arithmetic. Not
    comparable, so neutralised: diffusers' Latte (the text-to-video release) regresses the six
    modulation vectors once for all blocks (PixArt-alpha's adaLN-single) plus a learnt per-block
    table, where we regress them per block (DiT); we feed it our block's vectors and zero its table.
    Its spatial blocks also cross-attend to T5 tokens, where ours read a pooled caption through
    adaLN; we zero that cross-attention's output projection.
    """
    latte_3d = pytest.importorskip("diffusers.models.transformers.latte_transformer_3d", reason="diffusers is the oracle")
    b, f, h, w, d, heads = 2, 4, 3, 3, 16, 2
    reference = latte_3d.LatteTransformer3DModel(
        num_attention_heads=heads, attention_head_dim=d // heads, in_channels=3, num_layers=1, cross_attention_dim=d,
        attention_bias=True, sample_size=6, patch_size=2, activation_fn="gelu-approximate", norm_type="ada_norm_single",
        norm_elementwise_affine=False, norm_eps=1e-6, caption_channels=8, video_length=f,
    ).eval()
    theirs = (reference.transformer_blocks if axis is Axis.SPACE else reference.temporal_transformer_blocks)[0]
    ours = AdaLNZeroBlock(d, heads, axis, cond_dim=d)
    torch.manual_seed(0)
    with torch.no_grad():
        attention = ours.attentions[0]
        attention.qkv.weight.copy_(torch.cat([theirs.attn1.to_q.weight, theirs.attn1.to_k.weight, theirs.attn1.to_v.weight]))
        attention.qkv.bias.copy_(torch.cat([theirs.attn1.to_q.bias, theirs.attn1.to_k.bias, theirs.attn1.to_v.bias]))
        attention.out.load_state_dict(theirs.attn1.to_out[0].state_dict())
        ours.mlp[0].load_state_dict(theirs.ff.net[0].proj.state_dict())
        ours.mlp[2].load_state_dict(theirs.ff.net[2].state_dict())
        ours.modulation[-1].weight.normal_(std=0.3)  # a trained-looking regressor, so gates are not zero
        ours.modulation[-1].bias.normal_(std=0.3)
        theirs.scale_shift_table.zero_()
        if theirs.attn2 is not None:
            theirs.attn2.to_out[0].weight.zero_()
            theirs.attn2.to_out[0].bias.zero_()
    x = torch.randn(b, f * h * w, d)  # (b, n, d) in (f h w) order
    cond = torch.randn(b, d)
    with torch.no_grad():
        modulation = ours.modulation(cond)  # (b, 6d): shift, scale, gate of attention, then of the MLP
        expected = ours(x, cond, f, h, w)
        if axis is Axis.SPACE:
            folded = rearrange(x, "b (f n) d -> (b f) n d", f=f)
            out = theirs(folded, encoder_hidden_states=torch.randn(b * f, 5, d), timestep=modulation.repeat_interleave(f, 0))
            out = rearrange(out, "(b f) n d -> b (f n) d", b=b)
        else:
            folded = rearrange(x, "b (f n) d -> (b n) f d", f=f)
            out = theirs(folded, timestep=modulation.repeat_interleave(h * w, 0))
            out = rearrange(out, "(b n) f d -> b (f n) d", b=b)
    assert torch.allclose(out, expected, atol=1e-5)


def test_word_cross_attention_follows_the_spatial_blocks_only():
    """Latte's text-to-video route: the spatial blocks read the words, the temporal ones do not.
    The cross-attention starts at zero, so a fresh CROSS model predicts what a POOLED one does."""
    config = LatteConfig.tiny(depth=4, caption=CaptionRoute.CROSS)
    model = Latte(config)
    spatial = [str(i) for i, axes in enumerate(block_axes(config)) if axes == (Axis.SPACE,)]
    assert sorted(model.cross.keys()) == spatial == ["0", "2"]
    pooled = Latte(LatteConfig.tiny(depth=4))
    pooled.load_state_dict({k: v for k, v in model.state_dict().items() if not k.startswith(("cross", "word_"))})
    perturbed_pooled = {k: v + 0.05 * torch.randn_like(v) for k, v in pooled.state_dict().items()}
    pooled.load_state_dict(perturbed_pooled)
    model.load_state_dict(perturbed_pooled, strict=False)
    x, t, tokens = inputs()()
    with torch.no_grad():
        assert torch.allclose(model(x, t, tokens), pooled(x, t, tokens), atol=1e-6)
        for p in model.cross.parameters():
            p.add_(0.1 * torch.randn_like(p))
        swapped = tokens.clone()
        swapped[0, :3] = swapped[0, :3].flip(0)  # the same words in another order: one pooled vector
        assert torch.allclose(pooled(x, t, swapped), pooled(x, t, tokens), atol=1e-6), "a pooled caption ignores word order"
        assert not torch.allclose(model(x, t, swapped), model(x, t, tokens)), "the words are read one by one"
    with pytest.raises(ValueError, match="at most 16 tokens"):
        model(x, t, torch.ones(2, 17, dtype=torch.long))


def test_latent_statistics_only_for_a_latent_model():
    """Pixel Latte models (the chapter's ablation checkpoints) keep their state dict; a latent one
    stores the per-channel mean and std it normalises latents with."""
    assert not any("latent" in k for k in Latte(LatteConfig.tiny()).state_dict())
    model = Latte(LatteConfig.tiny(in_channels=4, patch=1, latents=True))
    z = torch.randn(8, 4, 3, 4, 4) * torch.tensor([1.0, 2.0, 3.0, 4.0]).view(1, 4, 1, 1, 1) + 5
    model.fit_latent_statistics(z)
    assert torch.allclose(model.normalise(z).std(dim=(0, 2, 3, 4)), torch.ones(4), atol=1e-5)
    assert torch.allclose(model.denormalise(model.normalise(z)), z, atol=1e-5)
