import pytest
import torch

from reference.nn.rope import apply_rope, rope_3d_angles, rope_angles


def test_rope_preserves_norms():
    x = torch.randn(2, 4, 10, 16)
    assert torch.allclose(apply_rope(x, rope_angles(torch.arange(10), 16)).norm(dim=-1), x.norm(dim=-1), atol=1e-5)


def test_scores_depend_only_on_relative_position():
    q, k = torch.randn(16), torch.randn(16)
    positions = torch.arange(12)
    angles = rope_angles(positions, 16)
    qs = apply_rope(q.expand(12, 16), angles)  # the same query at every position
    ks = apply_rope(k.expand(12, 16), angles)
    scores = qs @ ks.T  # (i, j)
    for offset in range(-3, 4):
        diagonal = torch.diagonal(scores, offset=offset)
        assert torch.allclose(diagonal, diagonal[0].expand_as(diagonal), atol=1e-4), offset


def test_rope_3d_is_relative_along_each_axis():
    f, h, w, d = 3, 4, 5, 24
    angles = rope_3d_angles(f, h, w, d)
    assert angles.shape == (f * h * w, d // 2)
    q, k = torch.randn(d), torch.randn(d)
    qs, ks = apply_rope(q.expand(f * h * w, d), angles), apply_rope(k.expand(f * h * w, d), angles)
    index = lambda i, j, l: (i * h + j) * w + l  # noqa: E731  token order (f h w)
    # The same displacement (1 frame, 2 rows, -1 column) from two different places scores the same.
    a = qs[index(0, 0, 3)] @ ks[index(1, 2, 2)]
    b = qs[index(1, 1, 4)] @ ks[index(2, 3, 3)]
    assert torch.allclose(a, b, atol=1e-4)


def test_bad_sizes():
    with pytest.raises(ValueError, match="even"):
        rope_angles(torch.arange(3), 7)
    with pytest.raises(ValueError, match="summing"):
        rope_3d_angles(2, 2, 2, 16, split=(4, 4, 4))
    with pytest.raises(ValueError, match="does not match"):
        apply_rope(torch.zeros(3, 8), rope_angles(torch.arange(4), 8))
