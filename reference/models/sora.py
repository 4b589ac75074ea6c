"""Sora's native sizes on the book's video DiT: packed batches of clips of any shape (chapter 8).

Sora's report (Brooks et al., 2024) turns videos of any resolution, duration and aspect ratio into
spacetime patches and trains on them at their native sizes. The book's `VideoDiT`
(`reference.models.t2v`) already takes any shape: its positions are sines of each token's frame,
row and column, defined on any grid. What native sizes add is the batch. Buckets
(`reference.data.native`) batch clips of one shape with the plain forward; NaViT's packing
(Dehghani et al., 2023; `reference.nn.packing`) runs clips of different shapes in one batch with
`packed_forward` here: every clip's tokens and caption words are packed into rows, each block's
modulation is per token (the condition of the token's own clip), and attention, self and cross,
is masked block-diagonally so no token sees another clip. The test suite checks that a packed
batch gives each clip the output the plain forward gives it alone.
"""

from __future__ import annotations

import torch
from einops import rearrange

from ..nn import packing
from ..nn.adaln import AdaLNZeroBlock
from ..nn.attention import attention
from ..nn.patch import patch_grid, unpatchify
from .t2v import AttentionKind, CaptionCrossAttention, CaptionKind, VideoDiT


def _packed_block(block: AdaLNZeroBlock, x: torch.Tensor, cond: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """DiT's joint block on packed rows `(r, l, d)`: a shift, scale and gate per token, from the
    condition of the token's clip `(r, l, d)`, and attention under the packing's mask."""
    shift, scale, gate = rearrange(block.modulation(cond), "r l (branch part d) -> part branch r l d",
                                   part=3, branch=block.branches)
    layer = block.attentions[0]
    q, k, v = rearrange(layer.qkv(block.norm(x) * (1 + scale[0]) + shift[0]), "r l (three heads d) -> three r heads l d",
                        three=3, heads=layer.heads)
    x = x + gate[0] * layer.out(rearrange(attention(q, k, v, mask=mask), "r heads l d -> r l (heads d)"))
    return x + gate[1] * block.mlp(block.norm(x) * (1 + scale[1]) + shift[1])


def _packed_cross(cross: CaptionCrossAttention, x: torch.Tensor, words: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Cross-attention of packed tokens to the packed words of their own clips (null word included)."""
    q = rearrange(cross.q(cross.norm(x)), "r l (heads d) -> r heads l d", heads=cross.heads)
    k, v = rearrange(cross.kv(words), "r m (two heads d) -> two r heads m d", two=2, heads=cross.heads)
    return cross.out(rearrange(attention(q, k, v, mask=mask), "r heads l d -> r l (heads d)"))


def _pack_words(model: VideoDiT, tokens: torch.Tensor, plan: packing.Packing) -> tuple[torch.Tensor, torch.Tensor]:
    """Each row's words: for every clip in the row, a slot for the null word (zeros here; each
    block puts its own learned null there) and its caption's real words, side by side `(r, k, d)`;
    and the clip each slot belongs to `(r, k)` (-1: padding)."""
    vectors, keep = model.words(tokens)  # (n, m, d), (n, m)
    per_row = []
    for r in range(plan.rows):
        members = [int(e) for e in plan.example[r].unique() if e >= 0]
        per_row.append([(e, torch.cat([vectors.new_zeros(1, vectors.shape[-1]), vectors[e][keep[e]]])) for e in members])
    width = max(sum(len(w) for _, w in row) for row in per_row)
    packed = vectors.new_zeros(plan.rows, width, vectors.shape[-1])
    owner = torch.full((plan.rows, width), -1, dtype=torch.long)
    for r, row in enumerate(per_row):
        start = 0
        for e, w in row:
            packed[r, start : start + len(w)] = w
            owner[r, start : start + len(w)] = e
            start += len(w)
    return packed, owner


def _null_slots(owner: torch.Tensor) -> torch.Tensor:
    """`(r, k)` True at the first word slot of each clip in a row: where its null word goes."""
    first = torch.ones_like(owner, dtype=torch.bool)
    first[:, 1:] = owner[:, 1:] != owner[:, :-1]
    return first & (owner >= 0)


def packed_forward(model: VideoDiT, clips: list[torch.Tensor], t: torch.Tensor, tokens: torch.Tensor,
                   length: int) -> tuple[list[torch.Tensor], packing.Packing]:
    """The DiT on clips of any shapes `[(c, f_i, h_i, w_i), ...]` at once, their tokens packed into
    rows of `length`; timesteps `(n,)`, caption ids `(n, m)`. Returns each clip's prediction (its
    own shape) and the packing (its padding share is what packing costs)."""
    c = model.config
    if c.attention is not AttentionKind.JOINT:
        raise ValueError("packing needs joint attention (a divided model's folds assume one shape per batch)")
    if t.dim() != 1 or len(t) != len(clips) or len(tokens) != len(clips):
        raise ValueError(f"one timestep and one caption per clip: got {len(clips)} clips, t {tuple(t.shape)}, "
                         f"tokens {tuple(tokens.shape)}")
    grids, sequences = [], []
    for x in clips:
        if x.dim() != 4 or x.shape[0] != c.in_channels:
            raise ValueError(f"expected clips ({c.in_channels}, f, h, w), got {tuple(x.shape)}")
        grid = patch_grid(*x.shape[1:], patch=c.patch)
        embedded, _ = model.patch_embed(x[None])
        sequences.append(embedded[0] + model.positions(grid, x.device).to(embedded.dtype))
        grids.append(grid)
    plan = packing.plan([len(s) for s in sequences], length)
    h = packing.pack(sequences, plan)  # (r, l, d)
    cond = packing.spread(model.condition(t, tokens, 1), plan)  # (r, l, d): each token its clip's condition
    mask = packing.attention_mask(plan).to(h.device)
    if c.caption is CaptionKind.CROSS:
        words, owner = _pack_words(model, tokens, plan)
        null_slot = _null_slots(owner)[..., None].to(h.device)
        word_mask = packing.attention_mask(plan, owner).to(h.device)
    for i, block in enumerate(model.blocks):
        h = _packed_block(block, h, cond, mask)
        if c.caption is CaptionKind.CROSS:
            with_null = torch.where(null_slot, model.cross[i].null[0, 0].to(words.dtype), words)
            h = h + _packed_cross(model.cross[i], h, with_null, word_mask)
    shift, scale = rearrange(model.final_modulation(cond), "r l (two d) -> two r l d", two=2)
    out = model.unembed.proj(model.final_norm(h) * (1 + scale) + shift)
    return [unpatchify(y[None], g, c.patch, 1)[0] for y, g in zip(packing.unpack(out, plan), grids)], plan
