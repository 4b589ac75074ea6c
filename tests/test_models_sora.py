"""NaViT packing on the video DiT (chapter 8): a packed batch gives every clip what it gets alone."""

import pytest
import torch

from reference.data import Tokenizer
from reference.models.sora import packed_forward
from reference.models.t2v import AttentionKind, CaptionKind, VideoDiT, VideoDiTConfig


def perturbed(config: VideoDiTConfig) -> VideoDiT:
    torch.manual_seed(0)
    model = VideoDiT(config).eval()
    with torch.no_grad():
        for p in model.parameters():  # off the zero initialisations, so every path is exercised
            p.add_(0.1 * torch.randn_like(p))
    return model


@pytest.mark.parametrize("caption", [CaptionKind.POOLED, CaptionKind.CROSS])
def test_a_packed_batch_gives_each_clip_its_own_output(caption):
    model = perturbed(VideoDiTConfig.tiny(caption=caption, depth=2))
    shapes = [(3, 4, 4), (2, 3, 5), (3, 5, 3), (2, 2, 6), (1, 4, 4)]
    clips = [torch.randn(2, *s) for s in shapes]
    captions = ["a red circle moving left", "a blue square", "a green triangle standing still", "a cyan circle moving up",
                "a magenta square moving down"]
    tokens = Tokenizer().encode_batch(captions)
    t = torch.tensor([10, 200, 500, 800, 999])
    with torch.no_grad():
        packed, plan = packed_forward(model, clips, t, tokens, length=64)
        for i, x in enumerate(clips):
            alone = model(x[None], t[i : i + 1], tokens[i : i + 1])[0]
            torch.testing.assert_close(packed[i], alone, atol=1e-5, rtol=1e-5)
    assert plan.rows < len(clips), "several clips share a row"
    assert 0 <= plan.padding_share() < 0.5


def test_packing_refuses_what_it_cannot_run():
    divided = VideoDiT(VideoDiTConfig.tiny(attention=AttentionKind.DIVIDED))
    tokens = Tokenizer().encode_batch(["a red circle"])
    with pytest.raises(ValueError, match="joint attention"):
        packed_forward(divided, [torch.randn(2, 2, 4, 4)], torch.tensor([1]), tokens, 64)
    model = VideoDiT(VideoDiTConfig.tiny())
    with pytest.raises(ValueError, match="one timestep and one caption per clip"):
        packed_forward(model, [torch.randn(2, 2, 4, 4)], torch.tensor([1, 2]), tokens, 64)
    with pytest.raises(ValueError, match="1 to 15 tokens"):
        packed_forward(model, [torch.randn(2, 2, 4, 4)], torch.tensor([1]), tokens, 16 - 1)
