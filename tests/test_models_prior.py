import pytest
import torch

from reference.data import Tokenizer
from reference.data.vocab import PAD_ID
from reference.models.prior import SPECIAL, DiffusionPrior, PriorConfig, sequence_mask


def test_sequence_mask_is_causal_and_never_looks_at_padding():
    tokens = torch.tensor([[5, 6, PAD_ID], [PAD_ID, PAD_ID, PAD_ID]])
    mask = sequence_mask(tokens)
    n = 3 + SPECIAL
    assert mask.shape == (2, n, n)
    assert not (mask & ~torch.ones(n, n, dtype=torch.bool).tril()).any(), "nothing looks ahead"
    assert mask[0, -1].tolist() == [True, True, False, True, True, True, True], "the final query sees all but padding"
    assert mask[1, -1].tolist() == [False, False, False, True, True, True, True]
    assert mask.diagonal(dim1=1, dim2=2).all(), "every position sees itself (no empty row for the null caption)"


def test_prior_predicts_one_embedding_and_ignores_padding():
    """The final query's output is the prediction; padding words change nothing (they are no keys,
    and the four last entries keep their position slots however long the caption is)."""
    torch.manual_seed(0)
    config = PriorConfig.tiny()
    prior = DiffusionPrior(config).eval()
    tokens = Tokenizer().encode_batch(["a red circle moving left", "a blue square"])
    b, e = tokens.shape[0], config.embed_dim
    z_t, text, t = torch.randn(b, e), torch.randn(b, e), torch.tensor([10.0, 500.0])
    out = prior(z_t, t, tokens, text)
    assert out.shape == (b, e)
    padded = torch.cat([tokens, torch.full((b, 3), PAD_ID)], dim=1)[:, : config.max_words]
    assert torch.allclose(prior(z_t, t, padded, text), out, atol=1e-5)
    assert not torch.allclose(prior(z_t + 1, t, tokens, text), out), "the noised embedding is read"
    assert not torch.allclose(prior(z_t, t, tokens, text + 1), out), "the text embedding is read"
    null = torch.full_like(tokens, PAD_ID)
    assert prior(z_t, t, null, text).isfinite().all(), "the null caption of guidance is well defined"


def test_prior_refuses_bad_shapes():
    prior = DiffusionPrior(PriorConfig.tiny())
    tokens = torch.tensor([[5, 6]])
    with pytest.raises(ValueError, match="embeddings \\(b, 16\\)"):
        prior(torch.randn(1, 8), torch.tensor([1.0]), tokens, torch.randn(1, 16))
    with pytest.raises(ValueError, match="one time per embedding"):
        prior(torch.randn(1, 16), torch.tensor([1.0, 2.0]), tokens, torch.randn(1, 16))
    with pytest.raises(ValueError, match="caption ids"):
        prior(torch.randn(1, 16), torch.tensor([1.0]), torch.ones(1, 40, dtype=torch.long), torch.randn(1, 16))
