"""Forward+backward time of `vdm-tiny`'s UNet against diffusers' `UNet3DConditionModel` of the same parameter count.

    python benchmarks/vdm_unet_vs_diffusers.py [--batch 8] [--repeats 5] [--device cpu]

Both take videos of 8 x 32 x 32 and have three levels, one residual block per level, GroupNorm
with 8 groups and 4-head attention at the lowest resolution. Ours has widths (24, 48, 96); diffusers'
widths are ours scaled by one factor (rounded to multiples of 8) chosen so that its parameter count
is the nearest to ours, since its blocks carry more layers per width. They differ where
their designs do: `VDMUNet` (chapter 2) mixes time with a temporal attention after every residual
block and takes a pooled caption vector; diffusers' model (ModelScope's text-to-video UNet) mixes
time with four temporal convolutions after every residual block plus temporal attention in its
middle block, and cross-attends to caption tokens. The benchmark prints both parameter counts and
the time ratio measured in the same run (never a number from elsewhere). Needs the `bench` extra.
"""

from __future__ import annotations

import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from matching import arguments, closest_in_size, parameters, time_forward_backward  # noqa: E402


def main() -> None:
    from diffusers import UNet3DConditionModel

    from reference.models.vdm import VDMUNet
    from reference.recipes.vdm import VDMRecipe

    args, device = arguments(__doc__)
    config = VDMRecipe().model
    ours = VDMUNet(config).to(device)
    # Our widths scaled by 0.40 .. 1.20 and rounded to multiples of 8 (heads must divide the last).
    widths = sorted({tuple(max(8, round(c * k / 160) * 8) for c in config.channels) for k in range(8, 25)})
    widths = [w for w in widths if w[-1] % config.attention_heads == 0]
    theirs, their_widths = closest_in_size(parameters(ours), lambda w: UNet3DConditionModel(
        in_channels=config.in_channels,
        out_channels=config.in_channels,
        down_block_types=("DownBlock3D",) * len(config.channels),
        up_block_types=("UpBlock3D",) * len(config.channels),
        block_out_channels=w,
        layers_per_block=config.blocks_per_level,
        norm_num_groups=config.groups,
        cross_attention_dim=config.embed_dim,
        attention_head_dim=w[-1] // config.attention_heads,
    ), widths)
    theirs = theirs.to(device)

    b, f, size = args.batch, 8, 32
    x = torch.randn(b, config.in_channels, f, size, size, device=device)
    t = torch.randint(0, 1000, (b,), device=device)
    tokens = torch.randint(1, config.vocab_size, (b, 6), device=device)
    context = torch.randn(b, 6, config.embed_dim, device=device)  # caption tokens for cross-attention

    def ours_step() -> None:
        ours.zero_grad(set_to_none=True)
        ours(x, t, tokens).square().mean().backward()

    def theirs_step() -> None:
        theirs.zero_grad(set_to_none=True)
        theirs(x, t, encoder_hidden_states=context).sample.square().mean().backward()

    params = {name: parameters(m) for name, m in (("ours", ours), ("diffusers", theirs))}
    seconds = {"ours": time_forward_backward(ours_step, args.repeats),
               "diffusers": time_forward_backward(theirs_step, args.repeats)}
    print(f"device {device}, batch {b} x {f} frames x {size}x{size}, median of {args.repeats}")
    print(f"widths: ours {config.channels}, diffusers {their_widths} (sized to our parameter count)")
    for name in ("ours", "diffusers"):
        print(f"{name:10s} params {params[name]:>10,}  forward+backward {seconds[name] * 1000:8.1f} ms")
    print(f"time ratio ours / diffusers = {seconds['ours'] / seconds['diffusers']:.2f}; "
          f"params ratio = {params['ours'] / params['diffusers']:.2f}")


if __name__ == "__main__":
    main()
