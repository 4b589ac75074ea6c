"""GODIVA's parts (chapter 1): the VQ-VAE's quantiser and the 3D sparse attention masks."""

import pytest
import torch

from reference.models.godiva import (
    VQVAE,
    SparseAxis,
    VectorQuantizer,
    VQVAEConfig,
    codebook_usage,
    positions,
    receptive_field,
    sparse_mask,
)


def test_quantizer_picks_the_nearest_entry_and_passes_gradients_straight_through():
    torch.manual_seed(0)
    quantizer = VectorQuantizer(8, 4, beta=0.25)
    z = torch.randn(10, 4, requires_grad=True)
    out, index, codebook_loss, commitment_loss = quantizer(z)
    distances = torch.cdist(z.detach(), quantizer.codebook.weight.detach())
    assert torch.equal(index, distances.argmin(dim=1))
    assert torch.allclose(out, quantizer.codebook.weight[index])  # forward: the codebook entries
    out.sum().backward()
    assert torch.allclose(z.grad, torch.ones_like(z))  # backward: the identity
    assert torch.allclose(commitment_loss, 0.25 * codebook_loss)  # same distance, beta times


def test_vqvae_shapes_and_token_round_trip():
    torch.manual_seed(0)
    model = VQVAE(VQVAEConfig.tiny()).eval()
    video = torch.rand(2, 3, 3, 16, 16) * 2 - 1
    reconstruction, tokens, loss = model(video)
    assert reconstruction.shape == video.shape and tokens.shape == (2, 3, 4, 4) and loss.dim() == 0
    assert torch.equal(model.encode(video), tokens)
    assert torch.allclose(model.decode(tokens), reconstruction, atol=1e-5)
    with pytest.raises(ValueError, match="multiples of 4"):
        model.encode(torch.zeros(1, 3, 1, 10, 16))


def test_codebook_usage():
    usage = codebook_usage(torch.tensor([0, 0, 1, 1]), 4)
    assert usage["used"] == 0.5 and usage["perplexity"] == pytest.approx(2.0)


@pytest.mark.parametrize("axis", list(SparseAxis))
def test_every_mask_is_causal_in_generation_order_and_keeps_its_axis(axis):
    f, h, w = 3, 2, 3
    mask = sparse_mask(axis, f, h, w)
    n = f * h * w
    assert not (mask & ~torch.ones(n, n, dtype=torch.bool).tril()).any()  # nothing after the query
    assert mask.diagonal().all()  # each position sees itself (it holds the previous token)
    pos = positions(f, h, w)
    q, k = torch.nonzero(mask, as_tuple=True)
    fixed = {SparseAxis.TEMPORAL: [1, 2], SparseAxis.ROW: [0, 2], SparseAxis.COLUMN: [0, 1], SparseAxis.FULL: []}[axis]
    for dim in fixed:  # the coordinates an axis attention holds fixed
        assert torch.equal(pos[q, dim], pos[k, dim])


def test_the_literal_stack_reaches_the_box_below_each_token_not_every_earlier_token():
    f, h, w = 2, 3, 3
    reach = receptive_field([SparseAxis.TEMPORAL, SparseAxis.ROW, SparseAxis.COLUMN] * 2, f, h, w)
    pos = positions(f, h, w)
    box = (pos[:, None, :] >= pos[None, :, :]).all(dim=-1)  # (<= l, <= i, <= j)
    assert torch.equal(reach, box)
    full = receptive_field([SparseAxis.FULL], f, h, w)
    assert torch.equal(full, torch.ones_like(full).tril())  # full causal attention: everything before


def test_sparse_masks_cost_grows_slower_than_full_attention():
    pairs = lambda axis, f: sparse_mask(axis, f, 4, 4).sum().item()  # noqa: E731
    for f in (2, 4, 8):
        sparse = sum(pairs(a, f) for a in (SparseAxis.TEMPORAL, SparseAxis.ROW, SparseAxis.COLUMN)) / 3
        assert sparse < pairs(SparseAxis.FULL, f) / (2 * f)


def test_prior_is_causal_in_generation_order():
    """Changing the token at position q changes no prediction at positions <= q."""
    from reference.models.godiva import GodivaPrior, PriorConfig

    torch.manual_seed(0)
    model = GodivaPrior(PriorConfig.tiny()).eval()
    tokens = torch.randint(0, 8, (1, 2, 2, 3))
    caption = torch.randint(1, 19, (1, 5))
    with torch.no_grad():
        base = model(tokens, caption).flatten(1, 3)  # (1, n, K)
        for q in range(12):
            changed = tokens.clone().view(1, -1)
            changed[0, q] = (changed[0, q] + 1) % 8
            out = model(changed.view(1, 2, 2, 3), caption).flatten(1, 3)
            assert torch.allclose(out[:, : q + 1], base[:, : q + 1], atol=1e-5), q


def test_prior_loss_and_sampling():
    from reference.models.godiva import GodivaPrior, PriorConfig

    torch.manual_seed(0)
    model = GodivaPrior(PriorConfig.tiny()).eval()
    tokens = torch.randint(0, 8, (3, 2, 2, 3))
    caption = torch.randint(1, 19, (3, 5))
    assert model.loss(tokens, caption).item() == pytest.approx(torch.log(torch.tensor(8.0)).item(), abs=0.5)
    a = model.sample(caption, torch.Generator().manual_seed(1))
    b = model.sample(caption, torch.Generator().manual_seed(1))
    assert a.shape == (3, 2, 2, 3) and torch.equal(a, b) and a.max() < 8
    with pytest.raises(ValueError, match="expected token grids"):
        model(torch.zeros(1, 2, 2, 2, dtype=torch.long), caption[:1])


@pytest.mark.parametrize("axis", list(SparseAxis))
def test_axis_lines_give_what_the_dense_mask_gives(axis):
    from reference.models.godiva import SparseBlock

    torch.manual_seed(0)
    block = SparseBlock(8, 2, axis, (3, 2, 4)).eval()
    x = torch.randn(2, 24, 8)
    with torch.no_grad():
        assert torch.allclose(block(x), block(x, dense=True), atol=1e-5)


def test_cached_steps_give_the_full_forward_logits():
    """Sampling runs one position at a time with cached keys and values: teacher-forced, the
    steps must reproduce the whole-clip forward pass position by position."""
    from reference.models.godiva import GodivaPrior, PriorConfig

    torch.manual_seed(0)
    model = GodivaPrior(PriorConfig.tiny()).eval()
    tokens = torch.randint(0, 8, (2, 2, 2, 3))
    caption = torch.randint(1, 19, (2, 5))
    with torch.no_grad():
        full = model(tokens, caption).flatten(1, 3)
        flat, pooled, caches = tokens.flatten(1), model.caption(caption), [{} for _ in model.blocks]
        steps = torch.stack([model.step(flat[:, p - 1] if p else None, p, pooled, caches) for p in range(12)], dim=1)
    assert torch.allclose(steps, full, atol=1e-5)


def test_axis_attention_flops_grow_with_the_line_not_the_clip():
    """Doubling the frames doubles a sparse (row or column) layer's attention FLOPs but quadruples full attention's."""
    from reference.metrics.cost import count_flops
    from reference.models.godiva import SparseBlock

    def flops(axis, f):
        block = SparseBlock(16, 2, axis, (f, 4, 4)).eval()
        q = k = v = torch.randn(1, 2, f * 16, 8)
        return count_flops(lambda: block.attend(q, k, v))

    for axis in (SparseAxis.ROW, SparseAxis.COLUMN):
        assert flops(axis, 16) == 2 * flops(axis, 8)
    assert flops(SparseAxis.FULL, 16) == 4 * flops(SparseAxis.FULL, 8)
    assert flops(SparseAxis.TEMPORAL, 16) < 0.1 * flops(SparseAxis.FULL, 16)
