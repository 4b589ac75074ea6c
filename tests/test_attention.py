import pytest
import torch

from reference.nn.attention import Axis, FoldedSelfAttention, attention, axis_mask, fold, unfold

F, H, W = 2, 4, 6  # even, as local-global attention needs


def test_fused_equals_readable_path():
    q, k, v = torch.randn(3, 2, 2, 7, 8).unbind(0)
    mask = torch.rand(7, 7) > 0.3
    mask.fill_diagonal_(True)  # every query sees at least itself
    assert torch.allclose(attention(q, k, v, fused=True), attention(q, k, v, fused=False), atol=1e-5)
    assert torch.allclose(attention(q, k, v, mask, fused=True), attention(q, k, v, mask, fused=False), atol=1e-5)


@pytest.mark.parametrize("axis", list(Axis))
def test_fold_then_unfold_is_lossless(axis):
    x = torch.randn(2, F * H * W, 6)
    assert torch.equal(unfold(fold(x, axis, F, H, W), axis, F, H, W), x)


@pytest.mark.parametrize("axis, keys", [(Axis.SPACE, H * W), (Axis.TIME, F), (Axis.HEIGHT, H),
                                        (Axis.WIDTH, W), (Axis.JOINT, F * H * W),
                                        (Axis.LOCAL, F * H * W // 4), (Axis.GLOBAL, F * H * W // 8)])
def test_each_query_sees_the_keys_its_fold_groups(axis, keys):
    mask = axis_mask(axis, F, H, W)
    assert mask.shape == (F * H * W, F * H * W)
    assert (mask.sum(dim=1) == keys).all()
    assert torch.equal(mask, mask.T), "these folds are symmetric"


@pytest.mark.parametrize("axis", list(Axis))
def test_each_fold_equals_full_attention_under_its_mask(axis):
    layer = FoldedSelfAttention(dim=8, heads=2, axis=axis)
    x = torch.randn(2, F * H * W, 8)
    assert torch.allclose(layer(x, F, H, W), layer.masked_reference(x, F, H, W), atol=1e-5)
    assert torch.allclose(layer(x, F, H, W, fused=False), layer(x, F, H, W), atol=1e-5)


def test_bad_arguments():
    with pytest.raises(ValueError, match="not divisible"):
        FoldedSelfAttention(dim=10, heads=3, axis=Axis.SPACE)
    with pytest.raises(ValueError, match="expected f\\*h\\*w"):
        FoldedSelfAttention(dim=8, heads=2, axis=Axis.SPACE)(torch.randn(1, 10, 8), F, H, W)


@pytest.mark.parametrize("variant, reaches_all",
                         [("space", False), ("joint", True), ("divided", True), ("sparse", True), ("axial", True)])
def test_stacked_folds_reach_every_token_except_space_only(variant, reaches_all):
    """Divided, sparse and axial attention see the whole clip after their two or three steps;
    space-only never does."""
    from reference.nn.attention import VARIANT_AXES, Variant

    reach = torch.eye(F * H * W, dtype=torch.bool)
    for axis in VARIANT_AXES[Variant(variant)]:
        reach = (reach.float() @ axis_mask(axis, F, H, W).float()) > 0
    assert bool(reach.all()) == reaches_all


def test_local_and_global_groups_are_what_timesformer_describes():
    """Local: the query's quadrant in every frame. Global: stride 2 along time, height and width."""
    mask_local = axis_mask(Axis.LOCAL, F, H, W).reshape(F, H, W, F, H, W)
    mask_global = axis_mask(Axis.GLOBAL, F, H, W).reshape(F, H, W, F, H, W)
    seen_local = mask_local[0, 0, 0]  # what the top-left token of frame 0 sees
    assert seen_local[:, : H // 2, : W // 2].all() and seen_local.sum() == F * (H // 2) * (W // 2)
    seen_global = mask_global[1, 1, 2]
    assert seen_global[1::2, 1::2, 0::2].all() and seen_global.sum() == (F // 2) * (H // 2) * (W // 2)


@pytest.mark.parametrize("axis", [Axis.LOCAL, Axis.GLOBAL])
def test_local_global_need_even_sizes(axis):
    with pytest.raises(ValueError, match="even"):
        fold(torch.randn(1, 3 * 4 * 5, 2), axis, 3, 4, 5)


@pytest.mark.parametrize("variant", ["space", "joint", "divided", "sparse", "axial"])
def test_attention_flops_formula_equals_counted_flops(variant):
    """The closed form of `attention_flops` against PyTorch's FLOP counter on the real layers."""
    from reference.metrics.cost import count_flops
    from reference.nn.attention import VARIANT_AXES, Variant, attention_flops

    f, h, w, d = 4, 4, 8, 16
    layers = [FoldedSelfAttention(d, 2, axis) for axis in VARIANT_AXES[Variant(variant)]]
    x = torch.randn(1, f * h * w, d)

    def run():
        out = x
        for layer in layers:
            out = layer(out, f, h, w)

    assert count_flops(run) == attention_flops(Variant(variant), f, h, w, d)


def test_split_heads_equal_masked_full_attention():
    from reference.nn.attention import SplitHeadsSelfAttention

    layer = SplitHeadsSelfAttention(dim=16, heads=4, axes=(Axis.SPACE, Axis.TIME))
    x = torch.randn(2, F * H * W, 16)
    assert torch.allclose(layer(x, F, H, W), layer.masked_reference(x, F, H, W), atol=1e-5)
    with pytest.raises(ValueError, match="divisible"):
        SplitHeadsSelfAttention(dim=16, heads=3, axes=(Axis.SPACE, Axis.TIME))


def test_temporal_rope_makes_scores_depend_on_frame_offsets_only():
    """With 1D RoPE over frames, shifting every frame index by the same amount changes nothing."""
    from reference.nn.rope import rope_angles

    layer = FoldedSelfAttention(dim=16, heads=2, axis=Axis.TIME)
    x = torch.randn(2, F * H * W, 16)
    plain = layer(x, F, H, W)
    at_zero = layer(x, F, H, W, rope=rope_angles(torch.arange(F), 8))
    shifted = layer(x, F, H, W, rope=rope_angles(torch.arange(F) + 5, 8))
    assert torch.allclose(at_zero, shifted, atol=1e-5)
    assert not torch.allclose(plain, at_zero, atol=1e-3)


@pytest.mark.parametrize("axis", [Axis.SPACE, Axis.TIME, Axis.JOINT])
def test_probabilities_are_what_the_layer_applies(axis):
    """Rows sum to 1, and weighting the layer's values by them reproduces its output."""
    from einops import rearrange

    torch.manual_seed(0)
    layer = FoldedSelfAttention(16, 2, axis)
    x = torch.randn(2, 3 * 2 * 4, 16)
    p = layer.probabilities(x, 3, 2, 4)
    assert torch.allclose(p.sum(-1), torch.ones(()), atol=1e-6)
    v = rearrange(layer.qkv(fold(x, axis, 3, 2, 4)), "b n (three heads d) -> three b heads n d", three=3, heads=2)[2]
    rebuilt = unfold(layer.out(rearrange(p @ v, "b heads n d -> b n (heads d)")), axis, 3, 2, 4)
    assert torch.allclose(rebuilt, layer(x, 3, 2, 4), atol=1e-5)
