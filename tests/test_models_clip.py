"""The toy CLIP (chapter 4): unit embeddings, the learned temperature's clip, and a contrastive loss
that is CLIP's own when captions are unique and spreads the target over repeated ones."""

import math

import pytest
import torch

from reference.models.clip import CLIP, CLIPConfig, contrastive_loss


def test_embeddings_are_unit_vectors_and_logits_their_scaled_cosines():
    model = CLIP(CLIPConfig.tiny())
    frames, tokens = torch.rand(4, 3, 16, 16) * 2 - 1, torch.tensor([[1, 5, 11, 0], [1, 6, 12, 0], [1, 7, 13, 2], [1, 8, 11, 0]])
    images, texts = model.embed_frames(frames), model.embed_captions(tokens)
    assert torch.allclose(images.norm(dim=-1), torch.ones(4)) and torch.allclose(texts.norm(dim=-1), torch.ones(4))
    assert torch.allclose(model(frames, tokens), images @ texts.T / 0.07, atol=1e-4)
    with torch.no_grad():
        model.log_scale.fill_(10.0)
    assert math.isclose(model.scale().item(), 100.0, rel_tol=1e-5), "CLIP clips the scale at 100"
    with pytest.raises(ValueError, match="all-padding"):
        model.embed_captions(torch.zeros(1, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="frames"):
        model.embed_frames(torch.zeros(2, 1, 16, 16))


def test_loss_is_clips_with_unique_captions_and_spreads_over_matches():
    logits = torch.randn(5, 5)
    labels = torch.arange(5)
    clip_loss = (torch.nn.functional.cross_entropy(logits, labels) + torch.nn.functional.cross_entropy(logits.T, labels)) / 2
    assert torch.allclose(contrastive_loss(logits), clip_loss)
    # Two captions alike (frames 0 and 1 show the same object): with CLIP's one-hot targets, pulling
    # each frame towards "its" copy lowers the loss; with the matches it raises it, the tie is right.
    matches = torch.eye(3, dtype=torch.bool)
    matches[0, 1] = matches[1, 0] = True
    tie = torch.tensor([[5.0, 5.0, -5.0], [5.0, 5.0, -5.0], [-5.0, -5.0, 5.0]])
    split = tie + torch.diag(torch.tensor([1.0, 1.0, 0.0]))
    assert contrastive_loss(split) < contrastive_loss(tie)
    assert contrastive_loss(split, matches) > contrastive_loss(tie, matches)
    with pytest.raises(ValueError, match="own caption"):
        contrastive_loss(torch.randn(2, 2), torch.zeros(2, 2, dtype=torch.bool))
