"""GODIVA: a VQ-VAE over frames and an autoregressive prior with 3D sparse attention (chapter 1).

Wu et al. (2021), "GODIVA: Generating Open-DomaIn Videos from nAtural Descriptions", at toy size.

**The VQ-VAE** (van den Oord et al., 2017) turns each frame into a grid of codebook indices: an
encoder gives vectors, each is replaced by its nearest codebook entry, and a decoder maps the
entries back to pixels. The nearest-entry step has no gradient, so the decoder's gradient is copied
to the encoder as if the step were the identity (the straight-through estimator); the codebook is
pulled towards the encoder's outputs by a codebook loss, and the encoder towards the codebook by a
commitment loss weighted by beta.

**The prior** generates the tokens of a clip one at a time, frame by frame and in raster order
inside a frame, each from the tokens before it. Full attention over a whole clip costs n^2 for n
tokens; GODIVA replaces it by three sparse attentions that a stack of layers cycles through:
for the token in row i, column j of frame l,

- temporal: the tokens at (i, j) in earlier frames, (i, j, < l);
- row: the tokens in the same column of earlier rows, (< i, j, l);
- column: the tokens in the same row, to the left, (i, < j, l).

(The names follow the equations as the report writes them: "row" attention moves across rows.)

Masks here are over positions whose input is the *previous* token in generation order (the
sequence is shifted right by one, a learned start token first), so each mask includes the position
itself: the position (i, j, l) holds the token before (i, j, l), which it may see, and its output
predicts the token (i, j, l). What a stack of such layers can see is computed exactly by
`receptive_field`; chapter 1 shows what it reaches and what it misses.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import Enum

import torch
from einops import rearrange
from torch import nn
from torch.nn import functional as F

from ..data.vocab import WORDS


# -- the VQ-VAE ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class VQVAEConfig:
    in_channels: int = 3
    channels: tuple[int, ...] = (32, 64)  # per stride-2 level: spatial factor 2^len
    codebook_size: int = 64
    code_dim: int = 16
    beta: float = 0.25  # commitment weight

    @classmethod
    def tiny(cls) -> "VQVAEConfig":
        return cls(channels=(8, 16), codebook_size=8, code_dim=4)

    @property
    def space_factor(self) -> int:
        return 2 ** len(self.channels)

    def to_dict(self) -> dict:
        return asdict(self)


class VectorQuantizer(nn.Module):
    """Vectors `(n, d)` -> nearest codebook entries (straight-through), their indices and the losses."""

    def __init__(self, codebook_size: int, code_dim: int, beta: float) -> None:
        super().__init__()
        self.beta = beta
        self.codebook = nn.Embedding(codebook_size, code_dim)
        nn.init.uniform_(self.codebook.weight, -1 / codebook_size, 1 / codebook_size)

    def indices(self, z: torch.Tensor) -> torch.Tensor:
        return torch.cdist(z, self.codebook.weight).argmin(dim=1)  # (n,)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Returns (quantised with straight-through gradient, indices, codebook loss, commitment loss)."""
        index = self.indices(z)
        quantised = self.codebook(index)
        codebook_loss = F.mse_loss(quantised, z.detach())  # moves the codebook to the encoder
        commitment_loss = self.beta * F.mse_loss(z, quantised.detach())  # keeps the encoder near the codebook
        straight_through = z + (quantised - z).detach()  # value of quantised, gradient of z
        return straight_through, index, codebook_loss, commitment_loss


def _res(ch: int) -> nn.Module:
    return nn.Sequential(nn.ReLU(), nn.Conv2d(ch, ch, 3, padding=1), nn.ReLU(), nn.Conv2d(ch, ch, 1))


class Residual(nn.Module):
    def __init__(self, ch: int) -> None:
        super().__init__()
        self.body = _res(ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class VQVAE(nn.Module):
    """Frames `(b, c, f, h, w)` <-> token grids `(b, f, h/s, w/s)` of codebook indices."""

    def __init__(self, config: VQVAEConfig = VQVAEConfig()) -> None:
        super().__init__()
        self.config = config
        chs = config.channels
        down: list[nn.Module] = []
        width = config.in_channels
        for ch in chs:
            down += [nn.Conv2d(width, ch, 4, stride=2, padding=1), nn.ReLU()]
            width = ch
        self.encoder = nn.Sequential(*down, Residual(width), nn.Conv2d(width, config.code_dim, 1))
        self.quantizer = VectorQuantizer(config.codebook_size, config.code_dim, config.beta)
        up: list[nn.Module] = [nn.Conv2d(config.code_dim, width, 3, padding=1), Residual(width), nn.ReLU()]
        for i in reversed(range(len(chs))):
            out = chs[i - 1] if i > 0 else config.in_channels
            up.append(nn.ConvTranspose2d(chs[i], out, 4, stride=2, padding=1))
            if i > 0:
                up.append(nn.ReLU())
        self.decoder = nn.Sequential(*up)

    def _frames(self, video: torch.Tensor) -> torch.Tensor:
        if video.dim() != 5:
            raise ValueError(f"expected videos (b, c, f, h, w), got shape {tuple(video.shape)}")
        s = self.config.space_factor
        if video.shape[-1] % s or video.shape[-2] % s:
            raise ValueError(f"height and width must be multiples of {s}, got {tuple(video.shape[-2:])}")
        return rearrange(video, "b c f h w -> (b f) c h w")

    def forward(self, video: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(reconstruction, token grid `(b, f, h', w')`, codebook + commitment loss)."""
        b, f = video.shape[0], video.shape[2]
        z = self.encoder(self._frames(video))  # (b f) d h' w'
        h, w = z.shape[-2:]
        vectors = rearrange(z, "n d h w -> (n h w) d")
        quantised, index, codebook_loss, commitment_loss = self.quantizer(vectors)
        quantised = rearrange(quantised, "(n h w) d -> n d h w", h=h, w=w)
        reconstruction = rearrange(self.decoder(quantised), "(b f) c h w -> b c f h w", b=b)
        tokens = rearrange(index, "(b f h w) -> b f h w", b=b, f=f, h=h)
        return reconstruction, tokens, codebook_loss + commitment_loss

    @torch.no_grad()
    def init_codebook(self, video: torch.Tensor, generator: torch.Generator | None = None) -> None:
        """Set the codebook to randomly chosen encoder outputs on `video`: the entries start where the
        encoder's vectors are, so more of them are ever the nearest (fewer dead entries)."""
        z = rearrange(self.encoder(self._frames(video)), "n d h w -> (n h w) d")
        k = self.config.codebook_size
        if len(z) < k:
            raise ValueError(f"need at least {k} encoder vectors to fill the codebook, got {len(z)}")
        pick = torch.randperm(len(z), generator=generator)[:k].to(z.device)
        self.quantizer.codebook.weight.copy_(z[pick])

    @torch.no_grad()
    def encode(self, video: torch.Tensor) -> torch.Tensor:
        """Token grid `(b, f, h', w')`."""
        b = video.shape[0]
        z = self.encoder(self._frames(video))
        h, w = z.shape[-2:]
        index = self.quantizer.indices(rearrange(z, "n d h w -> (n h w) d"))
        return rearrange(index, "(b f h w) -> b f h w", b=b, h=h, w=w)

    def decode(self, tokens: torch.Tensor) -> torch.Tensor:
        """Token grid `(b, f, h', w')` -> video `(b, c, f, h, w)`."""
        if tokens.dim() != 4:
            raise ValueError(f"expected token grids (b, f, h, w), got shape {tuple(tokens.shape)}")
        b = tokens.shape[0]
        quantised = rearrange(self.quantizer.codebook(tokens), "b f h w d -> (b f) d h w")
        return rearrange(self.decoder(quantised), "(b f) c h w -> b c f h w", b=b)


def codebook_usage(tokens: torch.Tensor, codebook_size: int) -> dict[str, float]:
    """Share of codebook entries used, and the perplexity exp(entropy) of their frequencies."""
    counts = torch.bincount(tokens.flatten(), minlength=codebook_size).float()
    p = counts / counts.sum()
    entropy = -(p[p > 0] * p[p > 0].log()).sum()
    return {"used": (counts > 0).float().mean().item(), "perplexity": entropy.exp().item()}


# -- 3D sparse attention masks ---------------------------------------------------------------------
class SparseAxis(str, Enum):
    TEMPORAL = "temporal"  # (i, j, <= l)
    ROW = "row"  # (<= i, j, l)
    COLUMN = "column"  # (i, <= j, l)
    FULL = "full"  # every earlier position: ordinary causal attention


def positions(f: int, h: int, w: int) -> torch.Tensor:
    """`(f h w, 3)` (frame, row, column) of each position in generation order."""
    l, i, j = torch.meshgrid(torch.arange(f), torch.arange(h), torch.arange(w), indexing="ij")
    return torch.stack([l.flatten(), i.flatten(), j.flatten()], dim=1)


def sparse_mask(axis: SparseAxis, f: int, h: int, w: int) -> torch.Tensor:
    """`(n, n)` bool, True where query position q may attend to key position k (n = f h w).

    Every mask allows only positions at or before q in generation order, so with inputs shifted by
    one, no output sees its own token or any later one."""
    pos = positions(f, h, w)
    q, k = pos[:, None, :], pos[None, :, :]  # (n, 1, 3), (1, n, 3)
    same = q == k  # (n, n, 3): same frame, same row, same column
    before = (q >= k)
    causal = torch.arange(len(pos))[:, None] >= torch.arange(len(pos))[None, :]
    if axis is SparseAxis.TEMPORAL:
        mask = same[..., 1] & same[..., 2] & before[..., 0]
    elif axis is SparseAxis.ROW:
        mask = same[..., 0] & same[..., 2] & before[..., 1]
    elif axis is SparseAxis.COLUMN:
        mask = same[..., 0] & same[..., 1] & before[..., 2]
    else:
        mask = causal
    return mask & causal


def receptive_field(axes: list[SparseAxis], f: int, h: int, w: int) -> torch.Tensor:
    """`(n, n)` bool: which input positions the output of a stack of layers (in order) can depend on."""
    n = f * h * w
    reach = torch.eye(n, dtype=torch.bool)
    for axis in axes:  # after this layer, q depends on whatever the positions it attends to depended on
        mask = sparse_mask(axis, f, h, w).float()
        reach = (mask @ reach.float()) > 0
    return reach


# -- the autoregressive prior ----------------------------------------------------------------------
@dataclass(frozen=True)
class PriorConfig:
    codebook_size: int = 64
    grid: tuple[int, int, int] = (8, 8, 8)  # (f, h, w) tokens of a clip
    dim: int = 128
    heads: int = 4
    depth: int = 6  # layers cycle temporal, row, column (GODIVA) unless `axes` says otherwise
    axes: tuple[SparseAxis, ...] = (SparseAxis.TEMPORAL, SparseAxis.ROW, SparseAxis.COLUMN)
    vocab_size: int = len(WORDS)  # caption words

    @classmethod
    def tiny(cls) -> "PriorConfig":
        return cls(codebook_size=8, grid=(2, 2, 3), dim=16, heads=2, depth=3)

    def layer_axes(self) -> list[SparseAxis]:
        return [self.axes[k % len(self.axes)] for k in range(self.depth)]

    def to_dict(self) -> dict:
        return asdict(self)


# Each sparse attention is causal attention along one axis, the other two coordinates held fixed:
# regrouping the sequence into those short lines gives the mask's result at a fraction of its cost.
_LINES = {
    SparseAxis.TEMPORAL: "(b h w) e f d",  # one line per (row, column): across frames
    SparseAxis.ROW: "(b f w) e h d",  # one line per (frame, column): across rows
    SparseAxis.COLUMN: "(b f h) e w d",  # one line per (frame, row): across columns
}


class SparseBlock(nn.Module):
    """Pre-norm transformer block whose attention follows one sparse pattern (`sparse_mask`).

    `forward` runs the whole clip (training), `step` one position with a key/value cache (sampling);
    both give what dense attention under `mask` gives (tested)."""

    def __init__(self, dim: int, heads: int, axis: SparseAxis, grid: tuple[int, int, int]) -> None:
        super().__init__()
        self.heads, self.axis, self.grid = heads, axis, grid
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.qkv, self.out = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))
        self.register_buffer("mask", sparse_mask(axis, *grid), persistent=False)

    def attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """`(b, e, n, d)` each -> `(b, e, n, d)`: causal attention along this block's axis."""
        if self.axis is SparseAxis.FULL:
            return F.scaled_dot_product_attention(q, k, v, is_causal=True)
        f, h, w = self.grid
        lines = _LINES[self.axis]
        q, k, v = (rearrange(x, f"b e (f h w) d -> {lines}", f=f, h=h, w=w) for x in (q, k, v))
        out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return rearrange(out, f"{lines} -> b e (f h w) d", f=f, h=h, w=w)

    def forward(self, x: torch.Tensor, dense: bool = False) -> torch.Tensor:
        """x `(b, n, dim)`; `dense=True` applies the `(n, n)` mask instead (same result, n^2 cost)."""
        q, k, v = rearrange(self.qkv(self.norm1(x)), "b n (three e d) -> three b e n d", three=3, e=self.heads)
        attended = (F.scaled_dot_product_attention(q, k, v, attn_mask=self.mask) if dense
                    else self.attend(q, k, v))
        x = x + self.out(rearrange(attended, "b e n d -> b n (e d)"))
        return x + self.mlp(self.norm2(x))

    def step(self, x: torch.Tensor, p: int, cache: dict[str, torch.Tensor]) -> torch.Tensor:
        """The block's output `(b, 1, dim)` at position p alone, given its input there; keys and
        values of positions < p come from `cache` (filled by earlier steps), p's are added to it."""
        q, k, v = rearrange(self.qkv(self.norm1(x)), "b n (three e d) -> three b e n d", three=3, e=self.heads)
        if not cache:
            n = self.mask.shape[0]
            cache["k"], cache["v"] = (x.new_zeros(k.shape[0], self.heads, n, k.shape[-1]) for _ in range(2))
        cache["k"][:, :, p], cache["v"][:, :, p] = k[:, :, 0], v[:, :, 0]
        keys = self.mask[p, : p + 1]  # the positions this pattern lets p see, among those computed
        attended = F.scaled_dot_product_attention(q, cache["k"][:, :, : p + 1][:, :, keys],
                                                  cache["v"][:, :, : p + 1][:, :, keys])
        x = x + self.out(rearrange(attended, "b e n d -> b n (e d)"))
        return x + self.mlp(self.norm2(x))


class GodivaPrior(nn.Module):
    """Token grids `(b, f, h, w)` and captions `(b, m)` -> logits `(b, f, h, w, K)` for each token
    given the tokens before it (inputs shifted right by one, a start token first)."""

    def __init__(self, config: PriorConfig = PriorConfig()) -> None:
        super().__init__()
        from ..nn.text import PooledCaptionEncoder

        self.config = config
        f, h, w = config.grid
        self.token = nn.Embedding(config.codebook_size, config.dim)
        self.start = nn.Parameter(torch.zeros(config.dim))
        self.frame, self.row, self.column = (nn.Embedding(n, config.dim) for n in (f, h, w))
        self.caption = PooledCaptionEncoder(config.vocab_size, config.dim)
        self.blocks = nn.ModuleList(SparseBlock(config.dim, config.heads, axis, config.grid)
                                    for axis in config.layer_axes())
        self.norm = nn.LayerNorm(config.dim)
        self.head = nn.Linear(config.dim, config.codebook_size)
        pos = positions(f, h, w)
        self.register_buffer("pos", pos, persistent=False)

    def _inputs(self, previous: torch.Tensor, where: torch.Tensor, caption: torch.Tensor) -> torch.Tensor:
        """Embedded inputs `(b, m, dim)`: `previous` `(b, m, dim)` (the token before each position,
        embedded) plus the embeddings of the positions `where` `(m,)` and the pooled caption."""
        pos = self.pos[where]
        return previous + self.frame(pos[:, 0]) + self.row(pos[:, 1]) + self.column(pos[:, 2]) + caption[:, None]

    def forward(self, tokens: torch.Tensor, caption: torch.Tensor, dense: bool = False) -> torch.Tensor:
        if tokens.shape[1:] != self.config.grid:
            raise ValueError(f"expected token grids (b, {', '.join(map(str, self.config.grid))}), got {tuple(tokens.shape)}")
        b = tokens.shape[0]
        sequence = self.token(rearrange(tokens, "b f h w -> b (f h w)"))  # (b, n, d)
        shifted = torch.cat([self.start.expand(b, 1, -1), sequence[:, :-1]], dim=1)  # position p holds token p-1
        x = self._inputs(shifted, torch.arange(shifted.shape[1], device=tokens.device), self.caption(caption))
        for block in self.blocks:
            x = block(x, dense=dense)
        f, h, w = self.config.grid
        return rearrange(self.head(self.norm(x)), "b (f h w) k -> b f h w k", f=f, h=h, w=w)

    def loss(self, tokens: torch.Tensor, caption: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of every token given the ones before it (nats per token)."""
        return F.cross_entropy(rearrange(self(tokens, caption), "b f h w k -> (b f h w) k"), tokens.flatten())

    def step(self, previous: torch.Tensor | None, p: int, caption: torch.Tensor,
             caches: list[dict[str, torch.Tensor]]) -> torch.Tensor:
        """Logits `(b, K)` of the token at position p, given the token at p - 1 `(b,)` (None at p = 0),
        the pooled caption `(b, dim)` and the per-layer caches of the earlier steps (updated)."""
        b = caption.shape[0]
        held = self.start.expand(b, 1, -1) if previous is None else self.token(previous)[:, None]
        x = self._inputs(held, torch.tensor([p], device=caption.device), caption)
        for block, cache in zip(self.blocks, caches):
            x = block.step(x, p, cache)
        return self.head(self.norm(x))[:, 0]

    @torch.no_grad()
    def sample(self, caption: torch.Tensor, generator: torch.Generator | None = None,
               temperature: float = 1.0) -> torch.Tensor:
        """Token grids `(b, f, h, w)`, one token at a time in generation order: n steps of one
        position each, keys and values of earlier positions cached."""
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        b = caption.shape[0]
        f, h, w = self.config.grid
        pooled = self.caption(caption)
        caches: list[dict[str, torch.Tensor]] = [{} for _ in self.blocks]
        flat = torch.zeros(b, f * h * w, dtype=torch.long, device=caption.device)
        for p in range(f * h * w):
            logits = self.step(flat[:, p - 1] if p else None, p, pooled, caches) / temperature
            probs = F.softmax(logits.float(), dim=-1).cpu()
            flat[:, p] = torch.multinomial(probs, 1, generator=generator)[:, 0].to(caption.device)
        return rearrange(flat, "b (f h w) -> b f h w", f=f, h=h, w=w)
