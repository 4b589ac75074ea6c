"""One attention function, and the space-time attention variants as folds of the token axes.

Scaled dot-product attention (Vaswani et al., 2017, eq. 1), softmax(q k^T / sqrt(d)) v, is
written out once in readable form beside PyTorch's fused `scaled_dot_product_attention` (as
nanoGPT keeps both); tests hold the two equal. Video variants of TimeSformer (Bertasius et al.,
2021, sec. 3) differ only in which tokens may attend to which, and most are a *fold*: a
rearrangement that moves some axes into the batch so that plain attention runs over the rest.

    space only   (b f) (h w) d     each frame on its own
    joint        b (f h w) d       every token with every token
    temporal     (b h w) f d       each position through time
    divided      temporal, then space (two attentions in a row)
    sparse       local window, then strided global (two in a row)
    axial        time, then height, then width (three in a row)

Sparse local-global is TimeSformer's "L+G": a local attention over the neighbouring
F x H/2 x W/2 tokens, then a global one over the whole clip at stride 2 in time, height and
width. The paper gives no code for it; here "neighbouring" is read as the quadrant of the frame a
token lies in (all frames), and stride 2 as "tokens whose frame, row and column have the same
parity". Both readings are folds too:

    local        (b wy wx) (f h w) d      wy, wx: which quadrant
    global       (b sf sy sx) (f h w) d   sf, sy, sx: parity of frame, row and column

Each fold equals full attention under a boolean mask (`axis_mask`), which is how the tests
check them. Chapters 2 and 3.
"""

from __future__ import annotations

import math
from enum import Enum

import torch
from einops import rearrange
from torch import nn

from .patch import token_coordinates
from .rope import apply_rope


def attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None, fused: bool = True
) -> torch.Tensor:
    """softmax(q k^T / sqrt(d) + mask) v for `(..., n, d)` inputs.

    `mask` is either bool (True where a query may look) or a float bias added to the scores
    (-inf where it may not look, as PyTorch's fused function takes it)."""
    if fused:
        return nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (..., n_q, n_k)
    if mask is not None and mask.dtype == torch.bool:
        scores = scores.masked_fill(~mask, float("-inf"))
    elif mask is not None:
        scores = scores + mask
    return scores.softmax(dim=-1) @ v


class Axis(str, Enum):
    """Which tokens one attention call sees; the others are folded into the batch."""

    SPACE = "space"  # (b f) (h w) d
    TIME = "time"  # (b h w) f d
    HEIGHT = "height"  # (b f w) h d
    WIDTH = "width"  # (b f h) w d
    JOINT = "joint"  # b (f h w) d
    LOCAL = "local"  # (b wy wx) (f h w) d: one quadrant of the frame, all frames
    GLOBAL = "global"  # (b sf sy sx) (f h w) d: every second token along each axis


# How each fold regroups the token grid `b f h w d` (tokens are stored flat, `b (f h w) d`);
# the reverse pattern swaps the two sides. In LOCAL and GLOBAL, f, h and w name the sizes inside
# one group (see `fold_sizes`).
FOLDS: dict[Axis, str] = {
    Axis.SPACE: "b f h w d -> (b f) (h w) d",
    Axis.TIME: "b f h w d -> (b h w) f d",
    Axis.HEIGHT: "b f h w d -> (b f w) h d",
    Axis.WIDTH: "b f h w d -> (b f h) w d",
    Axis.JOINT: "b f h w d -> b (f h w) d",
    Axis.LOCAL: "b f (wy h) (wx w) d -> (b wy wx) (f h w) d",
    Axis.GLOBAL: "b (f sf) (h sy) (w sx) d -> (b sf sy sx) (f h w) d",
}


def fold_sizes(axis: Axis, f: int, h: int, w: int) -> dict[str, int]:
    """The axis sizes `FOLDS[axis]` needs for a clip of f x h x w tokens."""
    if axis is Axis.LOCAL:
        if h % 2 or w % 2:
            raise ValueError(f"local attention splits the frame in quadrants: h and w must be even, got {h}x{w}")
        return dict(f=f, h=h // 2, w=w // 2, wy=2, wx=2)
    if axis is Axis.GLOBAL:
        if f % 2 or h % 2 or w % 2:
            raise ValueError(f"global attention strides by 2: f, h and w must be even, got {f}x{h}x{w}")
        return dict(f=f // 2, h=h // 2, w=w // 2, sf=2, sy=2, sx=2)
    return dict(f=f, h=h, w=w)


class Variant(str, Enum):
    """TimeSformer's attention schemes that are sequences of folds."""

    SPACE = "space"
    JOINT = "joint"
    DIVIDED = "divided"
    SPARSE = "sparse"  # local-global
    AXIAL = "axial"


# The attention calls of each variant, in order.
VARIANT_AXES: dict[Variant, tuple[Axis, ...]] = {
    Variant.SPACE: (Axis.SPACE,),
    Variant.JOINT: (Axis.JOINT,),
    Variant.DIVIDED: (Axis.TIME, Axis.SPACE),
    Variant.SPARSE: (Axis.LOCAL, Axis.GLOBAL),
    Variant.AXIAL: (Axis.TIME, Axis.HEIGHT, Axis.WIDTH),
}


def fold(x: torch.Tensor, axis: Axis, f: int, h: int, w: int) -> torch.Tensor:
    """Regroup tokens `(b, f*h*w, d)` so that attention over dim 1 runs along `axis`."""
    grid = rearrange(x, "b (f h w) d -> b f h w d", f=f, h=h, w=w)
    return rearrange(grid, FOLDS[axis], **fold_sizes(axis, f, h, w))


def unfold(x: torch.Tensor, axis: Axis, f: int, h: int, w: int) -> torch.Tensor:
    """The inverse of `fold`."""
    source, target = FOLDS[axis].split(" -> ")
    grid = rearrange(x, f"{target} -> {source}", **fold_sizes(axis, f, h, w))
    return rearrange(grid, "b f h w d -> b (f h w) d")


def axis_mask(axis: Axis, f: int, h: int, w: int) -> torch.Tensor:
    """`(n, n)` bool mask over tokens in (f h w) order: True where `axis`'s fold lets query i see key j."""
    fold_sizes(axis, f, h, w)  # the same errors as the fold
    coords = token_coordinates(f, h, w)  # (n, 3) as (frame, row, column)
    if axis is Axis.LOCAL:  # which quadrant: row and column halves
        coords = torch.stack([coords[:, 0], coords[:, 1] // (h // 2), coords[:, 2] // (w // 2)], dim=1)
    if axis is Axis.GLOBAL:  # parity of frame, row and column
        coords = coords % 2
    same = coords[:, None, :] == coords[None, :, :]  # (n, n, 3)
    shared = {  # the coordinates a query and key must share
        Axis.SPACE: [0],
        Axis.TIME: [1, 2],
        Axis.HEIGHT: [0, 2],
        Axis.WIDTH: [0, 1],
        Axis.JOINT: [],
        Axis.LOCAL: [1, 2],
        Axis.GLOBAL: [0, 1, 2],
    }[axis]
    return same[..., shared].all(dim=-1) if shared else torch.ones(len(coords), len(coords), dtype=torch.bool)


class FoldedSelfAttention(nn.Module):
    """Multi-head self-attention along one axis of a video's tokens `(b, f*h*w, d)`."""

    def __init__(self, dim: int, heads: int, axis: Axis) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"width {dim} is not divisible by {heads} heads")
        self.heads = heads
        self.axis = axis
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, f: int, h: int, w: int, fused: bool = True,
                rope: torch.Tensor | None = None) -> torch.Tensor:
        """x: tokens `(b, f*h*w, d)`; `rope`: optional rotary angles `(n', d_head/2)` for the
        positions along the fold (e.g. `rope_angles(torch.arange(f), d_head)` for a temporal fold)."""
        if x.shape[1] != f * h * w:
            raise ValueError(f"got {x.shape[1]} tokens, expected f*h*w = {f}*{h}*{w} = {f * h * w}")
        folded = fold(x, self.axis, f, h, w)  # (b', n', d)
        q, k, v = rearrange(self.qkv(folded), "b n (three heads d) -> three b heads n d", three=3, heads=self.heads)
        if rope is not None:  # rotate queries and keys by their positions (Su et al., 2021)
            q, k = apply_rope(q, rope.to(q.device)), apply_rope(k, rope.to(k.device))
        attended = rearrange(attention(q, k, v, fused=fused), "b heads n d -> b n (heads d)")
        return unfold(self.out(attended), self.axis, f, h, w)

    def probabilities(self, x: torch.Tensor, f: int, h: int, w: int, rope: torch.Tensor | None = None) -> torch.Tensor:
        """The softmax weights `(b', heads, n', n')` this layer computes on tokens x, one row per
        query of each fold: what it looks at (chapter 3 measures how focused they are)."""
        folded = fold(x, self.axis, f, h, w)
        q, k, _ = rearrange(self.qkv(folded), "b n (three heads d) -> three b heads n d", three=3, heads=self.heads)
        if rope is not None:
            q, k = apply_rope(q, rope.to(q.device)), apply_rope(k, rope.to(k.device))
        return (q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])).softmax(dim=-1)

    def masked_reference(self, x: torch.Tensor, f: int, h: int, w: int) -> torch.Tensor:
        """The same layer as full attention over all tokens under `axis_mask` (the tests' oracle)."""
        q, k, v = rearrange(self.qkv(x), "b n (three heads d) -> three b heads n d", three=3, heads=self.heads)
        mask = axis_mask(self.axis, f, h, w).to(x.device)
        attended = rearrange(attention(q, k, v, mask=mask, fused=False), "b heads n d -> b n (heads d)")
        return self.out(attended)


def keys_per_query(axis: Axis, f: int, h: int, w: int) -> int:
    """How many tokens one query attends to under `axis`."""
    n = f * h * w
    return {
        Axis.SPACE: h * w,
        Axis.TIME: f,
        Axis.HEIGHT: h,
        Axis.WIDTH: w,
        Axis.JOINT: n,
        Axis.LOCAL: n // 4,
        Axis.GLOBAL: n // 8,
    }[axis]


def attention_flops(variant: Variant, f: int, h: int, w: int, dim: int) -> int:
    """Forward FLOPs of a variant's attention layers on one clip of n = f*h*w tokens of width `dim`.

    Each attention call costs 8 n d^2 for its projections (q, k, v and output: four d x d
    matrices, 2 FLOPs per multiply-add) plus 4 n k d for q k^T and the weighted sum of values,
    where k is the number of keys per query. So joint attention grows as n^2 = (f h w)^2, divided
    as n (f + h w), axial as n (f + h + w), space-only as n h w; sparse local-global still as n^2,
    but 3/8 of joint's (k = n/4 + n/8).
    """
    n = f * h * w
    return sum(8 * n * dim**2 + 4 * n * keys_per_query(axis, f, h, w) * dim for axis in VARIANT_AXES[variant])


class SplitHeadsSelfAttention(nn.Module):
    """One multi-head attention whose heads are shared out between axes: with axes (SPACE, TIME)
    and 4 heads, heads 0-1 attend within each frame and heads 2-3 along time; the heads are then
    concatenated and projected as usual (Latte's variant 4, chapter 3)."""

    def __init__(self, dim: int, heads: int, axes: tuple[Axis, ...]) -> None:
        super().__init__()
        if dim % heads or heads % len(axes):
            raise ValueError(f"need width {dim} divisible by {heads} heads, and heads divisible by {len(axes)} axes")
        self.heads, self.axes = heads, axes
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, f: int, h: int, w: int, fused: bool = True,
                rope: dict[Axis, torch.Tensor] | None = None) -> torch.Tensor:
        """x: tokens `(b, f*h*w, d)`; `rope`: optional rotary angles per axis, as `FoldedSelfAttention` takes."""
        if x.shape[1] != f * h * w:
            raise ValueError(f"got {x.shape[1]} tokens, expected f*h*w = {f}*{h}*{w} = {f * h * w}")
        groups = rearrange(self.qkv(x), "b n (three g heads d) -> g three b n (heads d)", three=3, g=len(self.axes),
                           heads=self.heads // len(self.axes))
        outputs = []
        for axis, (q, k, v) in zip(self.axes, groups):
            q, k, v = (rearrange(fold(t, axis, f, h, w), "b n (heads d) -> b heads n d", heads=self.heads // len(self.axes))
                       for t in (q, k, v))
            if rope is not None and axis in rope:
                q, k = apply_rope(q, rope[axis].to(q.device)), apply_rope(k, rope[axis].to(k.device))
            attended = rearrange(attention(q, k, v, fused=fused), "b heads n d -> b n (heads d)")
            outputs.append(unfold(attended, axis, f, h, w))  # (b, f*h*w, d / groups)
        return self.out(torch.cat(outputs, dim=-1))

    def masked_reference(self, x: torch.Tensor, f: int, h: int, w: int) -> torch.Tensor:
        """Full attention over all tokens, each head under its own axis's mask (the tests' oracle)."""
        q, k, v = rearrange(self.qkv(x), "b n (three heads d) -> three b heads n d", three=3, heads=self.heads)
        per_group = self.heads // len(self.axes)
        mask = torch.stack([axis_mask(axis, f, h, w) for axis in self.axes for _ in range(per_group)])  # (heads, n, n)
        attended = attention(q, k, v, mask=mask.to(x.device), fused=False)
        return self.out(rearrange(attended, "b heads n d -> b n (heads d)"))
