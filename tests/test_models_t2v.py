"""Chapter 6's video DiT: the contract, what starts at zero, and per-frame noise levels."""

import pytest
import torch

from reference.models.t2v import AttentionKind, CaptionKind, VideoDiT, VideoDiTConfig
from reference.nn.adaln import AdaLNZeroBlock
from reference.nn.attention import Axis

from .conftest import check_model_contract


def inputs(config: VideoDiTConfig, b: int = 2, f: int = 3):
    tokens = torch.tensor([[5, 6, 7, 0], [0, 0, 0, 0]])[:b]  # a caption and the null caption
    return torch.randn(b, config.in_channels, f, 8, 8), torch.tensor([10, 700])[:b], tokens


def perturb(model: torch.nn.Module) -> None:
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))


@pytest.mark.parametrize("changes", [{}, {"attention": AttentionKind.DIVIDED}, {"caption": CaptionKind.CROSS},
                                     {"patch": 2, "in_channels": 3}])
def test_contract(changes):
    config = VideoDiTConfig.tiny(**changes)
    check_model_contract(VideoDiT(config), lambda: inputs(config), (2, config.in_channels, 3, 8, 8))


def test_a_fresh_model_predicts_zero_and_cross_attention_starts_switched_off():
    pooled = VideoDiT(VideoDiTConfig.tiny())
    assert VideoDiT(VideoDiTConfig.tiny()).forward(*inputs(pooled.config)).abs().max() == 0
    cross = VideoDiT(VideoDiTConfig.tiny(caption=CaptionKind.CROSS))
    perturb(pooled)
    cross.load_state_dict(pooled.state_dict(), strict=False)  # same weights, cross-attention at its initial zero output
    x = inputs(pooled.config)
    assert torch.allclose(cross(*x), pooled(*x), atol=1e-6)


def test_one_level_per_frame_equals_one_per_clip_when_the_levels_agree():
    model = VideoDiT(VideoDiTConfig.tiny())
    perturb(model)
    x, t, tokens = inputs(model.config)
    assert torch.allclose(model(x, t[:, None].repeat(1, 3), tokens), model(x, t, tokens), atol=1e-5)
    different = t[:, None].repeat(1, 3)
    different[:, 0] = 0
    assert not torch.allclose(model(x, different, tokens), model(x, t, tokens), atol=1e-3)
    with pytest.raises(ValueError, match="per-frame timesteps"):
        model(x, t[:, None].repeat(1, 2), tokens)


def test_per_frame_condition_in_a_block_reaches_only_its_frame_before_attention_mixes():
    """adaLN with per-frame conditions: with attention along space only, changing frame 0's
    condition changes frame 0's tokens and no other frame's."""
    block = AdaLNZeroBlock(16, 2, Axis.SPACE, 16)
    perturb(block)
    x, cond = torch.randn(1, 3 * 4, 16), torch.randn(1, 3, 16)
    moved = cond.clone()
    moved[:, 0] += 1
    a, b = block(x, cond, 3, 2, 2).view(1, 3, 4, 16), block(x, moved, 3, 2, 2).view(1, 3, 4, 16)
    assert not torch.allclose(a[:, 0], b[:, 0]) and torch.equal(a[:, 1:], b[:, 1:])
    same = block(x, cond[:, 1], 3, 2, 2)
    assert torch.allclose(block(x, cond[:, 1:2].repeat(1, 3, 1), 3, 2, 2), same, atol=1e-6)


def test_latent_statistics_round_trip():
    model = VideoDiT(VideoDiTConfig.tiny())
    z = torch.randn(8, 2, 3, 4, 4) * torch.tensor([2.0, 0.5]).view(1, 2, 1, 1, 1) + torch.tensor([-1.0, 3.0]).view(1, 2, 1, 1, 1)
    stats = model.fit_latent_statistics(z)
    assert stats["latent_mean"] == pytest.approx(z.mean(dim=(0, 2, 3, 4)).tolist())
    normalised = model.normalise(z)
    assert torch.allclose(normalised.mean(dim=(0, 2, 3, 4)), torch.zeros(2), atol=1e-5)
    assert torch.allclose(normalised.std(dim=(0, 2, 3, 4)), torch.ones(2), atol=1e-5)
    assert torch.allclose(model.denormalise(normalised), z, atol=1e-5)
    with pytest.raises(ValueError, match="expected latents"):
        model.fit_latent_statistics(torch.zeros(2, 3, 3, 4, 4))


def test_bad_configs_and_inputs_are_named():
    with pytest.raises(ValueError, match="depth must be even"):
        VideoDiT(VideoDiTConfig.tiny(attention=AttentionKind.DIVIDED, depth=3))
    model = VideoDiT(VideoDiTConfig.tiny())
    with pytest.raises(ValueError, match=r"\(b, c, f, h, w\)"):
        model(torch.zeros(1, 2, 8, 8), torch.zeros(1), torch.zeros(1, 4, dtype=torch.long))


def test_context_tokens_join_the_words_of_cross_attention():
    model = VideoDiT(VideoDiTConfig.tiny(caption=CaptionKind.CROSS))
    for p in model.parameters():  # switch the zero-initialised layers on
        torch.nn.init.normal_(p, std=0.1)
    x, t, tokens = torch.randn(2, 2, 3, 4, 4), torch.tensor([5, 50]), torch.randint(1, 10, (2, 4))
    context = torch.randn(2, 3, model.config.dim)
    with torch.no_grad():
        plain, with_context = model(x, t, tokens), model(x, t, tokens, context)
        assert not torch.allclose(plain, with_context, atol=1e-4), "the extra tokens are attended to"
        other = context.clone()
        other[1] = torch.randn(3, model.config.dim)
        again = model(x, t, tokens, other)
    assert torch.allclose(again[0], with_context[0], atol=1e-6), "each clip reads its own tokens"
    with pytest.raises(ValueError, match="CROSS-caption model"):
        VideoDiT(VideoDiTConfig.tiny())(x, t, tokens, context)
    with pytest.raises(ValueError, match="CROSS-caption model"):
        model(x, t, tokens, torch.randn(2, 3, 5))
