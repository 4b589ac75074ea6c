import torch

from reference.nn.adaln import AdaLNZeroBlock
from reference.nn.attention import Axis


def test_fresh_block_is_the_identity():
    block = AdaLNZeroBlock(dim=16, heads=2, axis=Axis.SPACE, cond_dim=8)
    x, cond = torch.randn(2, 3 * 4 * 4, 16), torch.randn(2, 8)
    assert torch.equal(block(x, cond, 3, 4, 4), x)


def test_conditioning_and_axis_matter_once_trained():
    torch.manual_seed(0)
    block = AdaLNZeroBlock(dim=16, heads=2, axis=Axis.TIME, cond_dim=8)
    with torch.no_grad():
        block.modulation[-1].weight.normal_(std=0.1)
    x = torch.randn(2, 3 * 4 * 4, 16)
    out_a = block(x, torch.randn(2, 8), 3, 4, 4)
    out_b = block(x, torch.randn(2, 8), 3, 4, 4)
    assert not torch.allclose(out_a, out_b), "the condition changes the output"
    # A temporal block mixes only along time: changing frame 0 at one pixel leaves other pixels alone.
    changed = x.clone()
    changed[:, 0] += torch.randn(16)  # token (frame 0, row 0, column 0); not a constant, which LayerNorm would remove
    cond = torch.randn(2, 8)
    moved = (block(changed, cond, 3, 4, 4) - block(x, cond, 3, 4, 4)).abs().sum(dim=(0, 2))
    same_pixel = torch.tensor([0, 16, 32])  # (f, 0, 0) for f = 0, 1, 2
    assert (moved[same_pixel] > 0).all()
    others = torch.ones(48, dtype=torch.bool)
    others[same_pixel] = False
    assert (moved[others] == 0).all()


def test_multi_axis_and_split_head_blocks_start_as_identity():
    x, cond = torch.randn(2, 2 * 4 * 4, 16), torch.randn(2, 8)
    for split in (False, True):
        block = AdaLNZeroBlock(dim=16, heads=4, axis=(Axis.SPACE, Axis.TIME), cond_dim=8, split_heads=split)
        assert torch.equal(block(x, cond, 2, 4, 4), x)
    assert len(AdaLNZeroBlock(16, 4, (Axis.SPACE, Axis.TIME), 8).attentions) == 2
    assert len(AdaLNZeroBlock(16, 4, (Axis.SPACE, Axis.TIME), 8, split_heads=True).attentions) == 1


def test_modulation_chunks_follow_dit_order():
    """shift, scale, gate of the attention, then of the MLP: DiT's (and diffusers') chunk order."""
    block = AdaLNZeroBlock(dim=4, heads=1, axis=Axis.SPACE, cond_dim=2)
    with torch.no_grad():
        block.modulation[-1].bias.copy_(torch.arange(24.0))
        block.modulation[-1].weight.zero_()
        block.mlp[-1].weight.zero_()
        block.mlp[-1].bias.copy_(torch.ones(4))
    x = torch.zeros(1, 1, 4)
    # attention of one token returns out(v) = out bias; zero it so only the MLP branch moves x
    with torch.no_grad():
        block.attentions[0].out.weight.zero_()
        block.attentions[0].out.bias.zero_()
    out = block(x, torch.zeros(1, 2), 1, 1, 1)
    assert torch.equal(out[0, 0], torch.arange(20.0, 24.0))  # gate_mlp = bias[20:24], MLP output 1
