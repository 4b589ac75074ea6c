"""Forward+backward time of `cogvideox-tiny` and `wan-tiny` against diffusers' CogVideoX and Wan
transformers sized to the same parameter count (chapter 8).

    python benchmarks/sota_vs_diffusers.py [--batch 8] [--repeats 5] [--device cpu]

Ours take latents (4, 3, 8, 8) and caption token ids; theirs take the same latents and caption
vectors of width 128 (their text encoders, T5, live outside the transformer; ours train a small
caption encoder inside, which counts in our parameters). Their depth and width per head are chosen,
at our head count, so that their parameter count is the nearest to ours. Printed: both parameter
counts and the time ratio measured in this run. Needs the `bench` extra.
"""

from __future__ import annotations

import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from matching import arguments, closest_in_size, parameters, time_forward_backward  # noqa: E402


def main() -> None:
    from diffusers import CogVideoXTransformer3DModel, WanTransformer3DModel

    from reference.recipes import motion

    args, device = arguments(__doc__)
    b, words, text_dim = args.batch, 16, 128
    x = torch.randn(b, 4, 3, 8, 8, device=device)  # (b, c, f, h, w) latents
    t = torch.randint(0, 1000, (b,), device=device)
    tokens = torch.randint(1, 19, (b, words), device=device)
    context = torch.randn(b, words, text_dim, device=device)

    cog, wan = motion.build_model(motion.COGVIDEOX).to(device), motion.build_model(motion.WAN).to(device)
    c, w = cog.config, wan.config
    # (layers, width per head); widths in multiples of 8 keep their sine positions and RoPE splits whole
    sizes = [(layers, d) for layers in range(2, 9) for d in range(8, 65, 8)]
    their_cog, cog_size = closest_in_size(parameters(cog), lambda s: CogVideoXTransformer3DModel(
        num_attention_heads=c.heads, attention_head_dim=s[1], in_channels=4, out_channels=4, time_embed_dim=c.time_dim,
        text_embed_dim=text_dim, num_layers=s[0], sample_width=8, sample_height=8, sample_frames=9, patch_size=1,
        max_text_seq_length=words), sizes)
    their_wan, wan_size = closest_in_size(parameters(wan), lambda s: WanTransformer3DModel(
        patch_size=(1, 1, 1), num_attention_heads=w.heads, attention_head_dim=s[1], in_channels=4, out_channels=4,
        text_dim=text_dim, freq_dim=w.frequency_dim, ffn_dim=int(w.ffn_ratio * w.heads * s[1]), num_layers=s[0],
        cross_attn_norm=True), sizes)
    their_cog, their_wan = their_cog.to(device), their_wan.to(device)
    # diffusers' CogVideoX takes (b, f, c, h, w); the others (b, c, f, h, w).
    steps = {
        "cogvideox ours": lambda: cog(x, t.float(), tokens).square().mean().backward(),
        "cogvideox diffusers": lambda: their_cog(x.transpose(1, 2), context, t).sample.square().mean().backward(),
        "wan ours": lambda: wan(x, t.float(), tokens).square().mean().backward(),
        "wan diffusers": lambda: their_wan(x, t, context).sample.square().mean().backward(),
    }
    models = {"cogvideox ours": cog, "cogvideox diffusers": their_cog, "wan ours": wan, "wan diffusers": their_wan}
    print(f"device {device}, batch {b} latents of 4 x 3 x 8 x 8, {words} caption tokens, median of {args.repeats}")
    print(f"diffusers sized to ours (layers, width per head): CogVideoX {cog_size}, Wan {wan_size}; "
          f"ours: {(c.depth, c.head_dim)} and {(w.depth, w.head_dim)}")
    seconds = {}
    for name, step in steps.items():
        models[name].zero_grad(set_to_none=True)
        seconds[name] = time_forward_backward(step, args.repeats)
        print(f"{name:20s} params {parameters(models[name]):>10,}  forward+backward {seconds[name] * 1000:8.1f} ms")
    for family in ("cogvideox", "wan"):
        ours, theirs = f"{family} ours", f"{family} diffusers"
        print(f"{family}: time ratio ours / diffusers = {seconds[ours] / seconds[theirs]:.2f}; "
              f"params ratio = {parameters(models[ours]) / parameters(models[theirs]):.2f}")


if __name__ == "__main__":
    main()
