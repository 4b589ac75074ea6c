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


class SparseBlock(nn.Module):
    """Pre-norm transformer block whose attention is restricted by a fixed mask."""

    def __init__(self, dim: int, heads: int, mask: torch.Tensor) -> None:
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.qkv, self.out = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))
        self.register_buffer("mask", mask, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[1]
        q, k, v = rearrange(self.qkv(self.norm1(x)), "b n (three heads d) -> three b heads n d", three=3, heads=self.heads)
        attended = F.scaled_dot_product_attention(q, k, v, attn_mask=self.mask[:n, :n])
        x = x + self.out(rearrange(attended, "b heads n d -> b n (heads d)"))
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
        self.blocks = nn.ModuleList(SparseBlock(config.dim, config.heads, sparse_mask(axis, f, h, w))
                                    for axis in config.layer_axes())
        self.norm = nn.LayerNorm(config.dim)
        self.head = nn.Linear(config.dim, config.codebook_size)
        pos = positions(f, h, w)
        self.register_buffer("pos", pos, persistent=False)

    def forward(self, tokens: torch.Tensor, caption: torch.Tensor) -> torch.Tensor:
        if tokens.shape[1:] != self.config.grid:
            raise ValueError(f"expected token grids (b, {', '.join(map(str, self.config.grid))}), got {tuple(tokens.shape)}")
        b = tokens.shape[0]
        sequence = self.token(rearrange(tokens, "b f h w -> b (f h w)"))  # (b, n, d)
        shifted = torch.cat([self.start.expand(b, 1, -1), sequence[:, :-1]], dim=1)  # position p holds token p-1
        x = shifted + self.frame(self.pos[:, 0]) + self.row(self.pos[:, 1]) + self.column(self.pos[:, 2])
        x = x + self.caption(caption)[:, None]
        for block in self.blocks:
            x = block(x)
        f, h, w = self.config.grid
        return rearrange(self.head(self.norm(x)), "b (f h w) k -> b f h w k", f=f, h=h, w=w)

    def loss(self, tokens: torch.Tensor, caption: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of every token given the ones before it (nats per token)."""
        return F.cross_entropy(rearrange(self(tokens, caption), "b f h w k -> (b f h w) k"), tokens.flatten())

    @torch.no_grad()
    def sample(self, caption: torch.Tensor, generator: torch.Generator | None = None,
               temperature: float = 1.0) -> torch.Tensor:
        """Token grids `(b, f, h, w)`, one token at a time in generation order."""
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        b = caption.shape[0]
        f, h, w = self.config.grid
        tokens = torch.zeros(b, f, h, w, dtype=torch.long, device=caption.device)
        flat = tokens.view(b, -1)  # shares storage with tokens
        for p in range(f * h * w):
            logits = rearrange(self(tokens, caption), "b f h w k -> b (f h w) k")[:, p] / temperature
            probs = F.softmax(logits.float(), dim=-1).cpu()
            flat[:, p] = torch.multinomial(probs, 1, generator=generator)[:, 0].to(caption.device)
        return tokens
