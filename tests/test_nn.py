import pytest
import torch

from reference.nn import PooledCaptionEncoder, drop_captions, sinusoidal_embedding


def test_sinusoidal_embedding_values():
    emb = sinusoidal_embedding(torch.tensor([0.0, 1.0]), 8)
    assert emb.shape == (2, 8)
    assert torch.allclose(emb[0], torch.tensor([1.0] * 4 + [0.0] * 4))
    assert emb[1, 0] == pytest.approx(torch.cos(torch.tensor(1.0)).item())
    with pytest.raises(ValueError, match="even"):
        sinusoidal_embedding(torch.zeros(1), 7)


def test_caption_encoder_pools_words_and_has_a_null():
    encoder = PooledCaptionEncoder(vocab_size=10, dim=4)
    a = encoder(torch.tensor([[1, 2, 0, 0]]))
    b = encoder(torch.tensor([[2, 1, 0, 0]]))
    assert torch.allclose(a, b), "a bag of words ignores order"
    with torch.no_grad():
        encoder.null.fill_(3.0)
    null = encoder(torch.zeros(1, 4, dtype=torch.long))
    assert torch.allclose(null, encoder.mlp(torch.full((1, 4), 3.0)))


def test_drop_captions_share():
    tokens = torch.ones(10000, 3, dtype=torch.long)
    dropped = drop_captions(tokens, 0.1, torch.Generator().manual_seed(0))
    share = (dropped.sum(1) == 0).float().mean().item()
    assert share == pytest.approx(0.1, abs=0.02)
