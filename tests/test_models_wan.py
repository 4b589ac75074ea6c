"""Wan, small (chapter 8): one block equal to diffusers' `WanTransformerBlock` with copied weights,
Wan's RoPE split equal to diffusers' positions, the shared time MLP, and the model's shapes and errors."""

import dataclasses

import pytest
import torch

from reference.models.wan import Wan, WanBlock, WanConfig
from reference.nn.rope import rope_3d_angles


def test_block_matches_diffusers_with_copied_weights():
    pytest.importorskip("diffusers", reason="diffusers is the oracle; install the `test` extra")
    from diffusers.models.transformers.transformer_wan import WanRotaryPosEmbed, WanTransformerBlock

    dim, heads = 36, 3  # head width 12: RoPE split (4, 4, 4)
    ours = WanBlock(dim, heads, 2 * dim)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in ours.parameters():
            p.copy_(torch.randn(p.shape, generator=generator) * 0.3)
    theirs = WanTransformerBlock(dim, 2 * dim, heads, cross_attn_norm=True).eval()
    mapping = {"self_attn": "attn1", "cross_attn": "attn2", "norm_cross": "norm2", "ffn.0": "ffn.net.0.proj",
               "ffn.2": "ffn.net.2"}
    state = {}
    for name, value in ours.state_dict().items():
        if name == "modulation":
            state["scale_shift_table"] = value
            continue
        prefix, leaf = name.rsplit(".", 1)
        for ours_name, their_name in mapping.items():
            if prefix.startswith(ours_name):
                prefix = their_name + prefix[len(ours_name):]
        prefix = prefix.replace("to_out", "to_out.0")
        state[f"{prefix}.{leaf}"] = value
    assert theirs.load_state_dict(state, strict=True)
    f, h, w = 2, 3, 4
    config = WanConfig(dim=dim, heads=heads)
    x, e, context = torch.randn(2, f * h * w, dim), torch.randn(2, 6, dim), torch.randn(2, 5, dim)
    angles = rope_3d_angles(f, h, w, config.head_dim, config.rope_split())
    rotary = WanRotaryPosEmbed(config.head_dim, (1, 1, 1), max_seq_len=64)(torch.zeros(1, dim, f, h, w))
    # diffusers' rotary table, one angle per channel pair, equals ours
    assert torch.allclose(rotary[0][0, :, 0, ::2].float(), angles.cos(), atol=1e-6)
    with torch.no_grad():
        got = ours(x, e, context, angles)
        want = theirs(x, context, e, rotary)
    assert torch.allclose(got, want, atol=1e-5)


def test_rope_split_follows_the_code():
    assert WanConfig(dim=128, heads=4).rope_split() == (12, 10, 10)  # d=32: d - 4*5, 2*5, 2*5
    assert WanConfig(dim=1536, heads=12).rope_split() == (44, 42, 42)  # Wan 1.3B's head width 128


def test_one_time_mlp_serves_every_block():
    model = Wan(WanConfig.tiny())
    # The six modulation vectors come from one projection; each block adds only a (1, 6, d) bias.
    assert model.time_projection[-1].out_features == 6 * model.config.dim
    for block in model.blocks:
        assert block.modulation.shape == (1, 6, model.config.dim)
        assert not any("modulation" in n for n, _ in block.named_modules() if n)


def test_model_shapes_and_errors():
    config = WanConfig.tiny()
    model = Wan(config)
    x, tokens = torch.randn(2, 2, 3, 4, 4), torch.randint(0, config.vocab_size, (2, 6))
    out = model(x, torch.tensor([0.0, 1000.0]), tokens)
    assert out.shape == x.shape and torch.equal(out, torch.zeros_like(x)), "Wan's output layer starts at zero"
    with pytest.raises(ValueError, match="one time per clip"):
        model(x, torch.zeros(2, 3), tokens)
    with pytest.raises(ValueError, match="expected latents"):
        model(torch.randn(2, 3, 3, 4, 4), torch.zeros(2), tokens)
    with pytest.raises(ValueError, match="heads"):
        Wan(dataclasses.replace(config, dim=8, heads=2))
