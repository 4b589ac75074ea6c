"""CogVideoX, small (chapter 8): one block equal to diffusers' `CogVideoXBlock` with copied weights,
fresh blocks are the identity, the experts are separate, RoPE reaches video tokens only, and the model's
shapes and errors."""

import dataclasses

import pytest
import torch

from reference.models.cogvideox import CogVideoX, CogVideoXBlock, CogVideoXConfig
from reference.nn.rope import rope_3d_angles


def randomise(module: torch.nn.Module, seed: int = 0) -> None:
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=generator) * 0.3)


def test_block_matches_diffusers_with_copied_weights():
    diffusers = pytest.importorskip("diffusers", reason="diffusers is the oracle; install the `test` extra")
    from diffusers.models.transformers.cogvideox_transformer_3d import CogVideoXBlock as Theirs

    dim, heads, cond = 32, 2, 16
    ours = CogVideoXBlock(dim, heads, cond)
    randomise(ours)
    theirs = Theirs(dim, heads, dim // heads, cond, final_dropout=False).eval()
    mapping = {
        "norm1.linear": "norm1.linear", "norm1.norm": "norm1.norm", "norm2.linear": "norm2.linear",
        "norm2.norm": "norm2.norm", "attn.to_q": "attn1.to_q", "attn.to_k": "attn1.to_k", "attn.to_v": "attn1.to_v",
        "attn.norm_q": "attn1.norm_q", "attn.norm_k": "attn1.norm_k", "attn.to_out": "attn1.to_out.0",
        "mlp.0": "ff.net.0.proj", "mlp.2": "ff.net.2",
    }
    state = {}
    for name, value in ours.state_dict().items():
        prefix, leaf = name.rsplit(".", 1)
        state[f"{mapping[prefix]}.{leaf}"] = value
    assert theirs.load_state_dict(state, strict=True)
    f, h, w = 2, 3, 4
    video, text, temb = torch.randn(2, f * h * w, dim), torch.randn(2, 5, dim), torch.randn(2, cond)
    angles = rope_3d_angles(f, h, w, dim // heads, CogVideoXConfig(dim=dim, heads=heads).rope_split())
    rotary = (angles.cos().repeat_interleave(2, dim=-1), angles.sin().repeat_interleave(2, dim=-1))
    with torch.no_grad():
        got_video, got_text = ours(video, text, temb, angles)
        want_video, want_text = theirs(video, text, temb, image_rotary_emb=rotary)
    assert torch.allclose(got_video, want_video, atol=1e-5)
    assert torch.allclose(got_text, want_text, atol=1e-5)


def test_fresh_block_is_the_identity_and_experts_are_separate():
    block = CogVideoXBlock(32, 2, 16)
    video, text, temb = torch.randn(2, 12, 32), torch.randn(2, 5, 32), torch.randn(2, 16)
    out_video, out_text = block(video, text, temb)
    assert torch.equal(out_video, video) and torch.equal(out_text, text), "zero-initialised gates"
    # Open only the text expert's gates: text tokens change, video tokens do not.
    with torch.no_grad():
        for norm in (block.norm1, block.norm2):
            norm.linear.bias[5 * 32 :] = 1.0  # the text gate is the sixth of six vectors
    out_video, out_text = block(video, text, temb)
    assert torch.equal(out_video, video) and not torch.allclose(out_text, text)
    shared = CogVideoXBlock(32, 2, 16, expert=False)
    assert shared.norm1.linear.out_features == 3 * 32 and block.norm1.linear.out_features == 6 * 32


def test_rope_reaches_the_video_tokens_only():
    """Text tokens carry no position: shuffling the words shuffles their outputs the same way and
    leaves the video's unchanged; shuffling video tokens does not commute with the block (RoPE)."""
    block = CogVideoXBlock(32, 2, 16)
    randomise(block, seed=3)
    video, text, temb = torch.randn(1, 8, 32), torch.randn(1, 4, 32), torch.randn(1, 16)
    angles = rope_3d_angles(2, 2, 2, 16, (4, 6, 6))
    out_video, out_text = block(video, text, temb, angles)
    order = torch.tensor([2, 0, 3, 1])
    shuffled_video, shuffled_text = block(video, text[:, order], temb, angles)
    assert torch.allclose(shuffled_text, out_text[:, order], atol=1e-5)
    assert torch.allclose(shuffled_video, out_video, atol=1e-5)
    frames = torch.arange(8).roll(4)  # swap the two frames
    swapped_video, _ = block(video[:, frames], text, temb, angles)
    assert not torch.allclose(swapped_video, out_video[:, frames], atol=1e-3)
    plain_video, _ = block(video[:, frames], text, temb, None)
    assert torch.allclose(plain_video, block(video, text, temb, None)[0][:, frames], atol=1e-5), "no RoPE, no order"


def test_model_shapes_split_and_errors():
    config = CogVideoXConfig.tiny()
    model = CogVideoX(config)
    x, tokens = torch.randn(2, 2, 3, 4, 4), torch.randint(0, config.vocab_size, (2, 6))
    out = model(x, torch.tensor([0.0, 999.0]), tokens)
    assert out.shape == x.shape and torch.equal(out, torch.zeros_like(x)), "the output layer starts at zero"
    assert CogVideoXConfig().rope_split() == (8, 12, 12), "CogVideoX-5B: 2/8 time, 3/8 height, 3/8 width"
    with pytest.raises(ValueError, match="one timestep per clip"):
        model(x, torch.zeros(2, 3), tokens)
    with pytest.raises(ValueError, match="expected latents"):
        model(torch.randn(2, 3, 3, 4, 4), torch.zeros(2), tokens)
    with pytest.raises(ValueError, match="heads"):
        CogVideoX(dataclasses.replace(config, dim=18, heads=4))


def test_divided_blocks_keep_frames_and_positions_apart_and_their_rope_shortcut_is_exact():
    from einops import rearrange

    from reference.nn.attention import Axis

    f, n, d = 3, 4, 32  # 3 frames of 2 x 2 tokens
    video, text, temb = torch.randn(1, f * n, d), torch.randn(1, 5, d), torch.randn(1, 16)
    angles = rope_3d_angles(f, 2, 2, 16, (4, 6, 6))
    space, time = CogVideoXBlock(d, 2, 16, axis=Axis.SPACE), CogVideoXBlock(d, 2, 16, axis=Axis.TIME)
    randomise(space, seed=1)
    randomise(time, seed=2)
    changed = video.clone()
    changed[:, n : 2 * n] += 1.0  # frame 2 only
    a, b = space(video, text, temb, angles, f)[0], space(changed, text, temb, angles, f)[0]
    assert torch.allclose(a[:, :n], b[:, :n], atol=1e-6) and not torch.allclose(a[:, n : 2 * n], b[:, n : 2 * n])
    changed = video.clone()
    changed[:, 0::n] += 1.0  # position (0, 0) in every frame
    a, b = time(video, text, temb, angles, f), time(changed, text, temb, angles, f)
    assert torch.allclose(a[0][:, 1::n], b[0][:, 1::n], atol=1e-6), "positions do not meet in a temporal block"
    assert torch.allclose(a[1], b[1]), "the words take no part in a temporal attention"
    # Each fold used one frame's (or one position's) angles; each frame's own angles give the same.
    normed = torch.randn(1, f * n, d)
    words = torch.randn(1, 5, d)
    got = space.attend(normed, words, angles, f)[0]
    per_frame = rearrange(angles, "(f n) k -> f n k", f=f)
    for i in range(f):
        own = space.attn(torch.cat([words, normed[:, i * n : (i + 1) * n]], dim=1), 5, per_frame[i])[:, 5:]
        assert torch.allclose(got[:, i * n : (i + 1) * n], own, atol=1e-5)
    got = time.attend(normed, words, angles, f)[0]
    for j in range(n):
        own = time.attn(normed[:, j::n], 0, per_frame[:, j])
        assert torch.allclose(got[:, j::n], own, atol=1e-5)


def test_divided_model_has_the_same_weights_as_the_joint_one():
    from reference.models.t2v import AttentionKind

    joint = CogVideoX(CogVideoXConfig.tiny())
    divided = CogVideoX(CogVideoXConfig.tiny(attention=AttentionKind.DIVIDED))
    assert [k for k in joint.state_dict()] == [k for k in divided.state_dict()]
    x, tokens = torch.randn(2, 2, 3, 4, 4), torch.randint(0, 19, (2, 6))
    assert divided(x, torch.zeros(2), tokens).shape == x.shape
    with pytest.raises(ValueError, match="depth must be even"):
        CogVideoX(CogVideoXConfig.tiny(attention=AttentionKind.DIVIDED, depth=3))
