"""NaViT's packing (chapter 8): lossless, no token sees another example, greedy rows."""

import pytest
import torch

from reference.nn import packing
from reference.nn.attention import attention


def test_pack_then_unpack_is_lossless_and_rows_are_full_where_they_can_be():
    lengths = [5, 3, 7, 2, 6, 1]
    plan = packing.plan(lengths, 8)
    tokens = [torch.randn(n, 4) for n in lengths]
    rows = packing.pack(tokens, plan)
    assert rows.shape == (3, 8, 4) and plan.padding_share() == 0.0  # 24 tokens fill 3 rows of 8 exactly
    assert all(torch.equal(a, b) for a, b in zip(tokens, packing.unpack(rows, plan)))
    assert sorted((plan.example == i).sum().item() for i in range(6)) == sorted(lengths)


def test_padding_is_counted_and_zero():
    plan = packing.plan([3, 3], 4)
    rows = packing.pack([torch.ones(3, 2), torch.ones(3, 2)], plan)
    assert plan.padding_share() == 0.25 and rows[:, 3].eq(0).all()


def test_a_token_never_attends_across_examples():
    plan = packing.plan([4, 2, 3, 1], 6)
    mask = packing.attention_mask(plan)[:, 0]  # (rows, length, length)
    ex = plan.example
    for r in range(plan.rows):
        for q in range(plan.length):
            for k in range(plan.length):
                if ex[r, q] >= 0:
                    assert mask[r, q, k] == (ex[r, q] == ex[r, k]).item()
    # Attention through the mask equals attention on each example alone.
    lengths = [4, 2, 3, 1]
    qs = [torch.randn(n, 8) for n in lengths]
    packed = packing.pack(qs, plan)[:, None]  # (rows, 1 head, length, d)
    out = packing.unpack(attention(packed, packed, packed, mask=packing.attention_mask(plan))[:, 0], plan)
    for q, o in zip(qs, out):
        alone = attention(q[None, None], q[None, None], q[None, None])[0, 0]
        assert torch.allclose(o, alone, atol=1e-6)


def test_spread_copies_each_example_vector_to_its_tokens():
    plan = packing.plan([2, 3], 4)
    per_token = packing.spread(torch.tensor([[1.0, 1.0], [2.0, 2.0]]), plan)
    assert per_token.shape == (2, 4, 2)
    assert torch.equal(per_token[..., 0], torch.where(plan.example >= 0, plan.example + 1.0, 0.0))


def test_bad_plans_are_refused_before_any_work():
    with pytest.raises(ValueError, match="1 to 4 tokens"):
        packing.plan([5, 2], 4)
    with pytest.raises(ValueError, match="nothing to pack"):
        packing.plan([], 4)
    with pytest.raises(ValueError, match="plan is for lengths"):
        packing.pack([torch.ones(2, 1)], packing.plan([3], 4))
