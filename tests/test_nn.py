import pytest
import torch

from reference.nn import CaptionTokenEncoder, PooledCaptionEncoder, drop_captions, sinusoidal_embedding


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


def test_caption_token_encoder_reads_the_words_not_the_padding():
    torch.manual_seed(0)
    encoder = CaptionTokenEncoder(19, 16, max_words=8)
    words = torch.tensor([[1, 7, 12, 2, 16]])
    padded = torch.cat([words, torch.zeros(1, 3, dtype=torch.long)], dim=1)
    short, long = encoder(words), encoder(padded)
    assert long.shape == (1, 8, 16)
    assert torch.allclose(short, long[:, :5], atol=1e-6), "no word attends to padding"
    other = encoder(torch.tensor([[1, 8, 12, 2, 16]]))
    assert not torch.allclose(other[:, 4], short[:, 4]), "each word's vector depends on the others"
    null = encoder(torch.zeros(2, 8, dtype=torch.long))
    assert torch.isfinite(null).all() and torch.allclose(null[0], null[1])
    with pytest.raises(ValueError, match="m <= 8"):
        encoder(torch.zeros(1, 9, dtype=torch.long))
