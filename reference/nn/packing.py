"""NaViT's Patch n' Pack (Dehghani et al., 2023): examples of different sizes in one batch (chapter 8).

A transformer sees a video as a sequence of tokens, so clips of different frame counts, heights and
widths differ only in how many tokens they have. NaViT packs the token sequences of several
examples into rows of one fixed length, greedily, and stops them from seeing each other with a
block-diagonal attention mask; anything that pooled over a sequence pools per example. Sora's
report trains on videos at their native sizes this way; Open-Sora's buckets
(`reference.data.native`) are the simpler alternative.

`plan` decides which example goes into which row (first-fit on lengths sorted longest first);
`pack` and `unpack` move tokens in and out losslessly; `attention_mask` is the block-diagonal
mask; `spread` copies a per-example vector (a timestep embedding) to every token of its example.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Packing:
    """Where every token of every example sits in the packed rows."""

    example: torch.Tensor  # (rows, length) long: the example each slot holds, -1 for padding
    position: torch.Tensor  # (rows, length) long: the token's index within its example, -1 for padding
    lengths: tuple[int, ...]  # tokens per example, in the order the examples were given

    @property
    def rows(self) -> int:
        return self.example.shape[0]

    @property
    def length(self) -> int:
        return self.example.shape[1]

    def padding_share(self) -> float:
        """The share of slots that hold no token (NaViT reports under 2% for images)."""
        return (self.example < 0).float().mean().item()


def plan(lengths: list[int], length: int) -> Packing:
    """Rows of `length` slots holding examples of `lengths` tokens: each example, longest first,
    goes into the first row with room for all of it (an example is never split)."""
    if not lengths:
        raise ValueError("nothing to pack: no examples")
    too_long = [n for n in lengths if n > length]
    if too_long or min(lengths) < 1:
        raise ValueError(f"every example needs 1 to {length} tokens to fit a row; got lengths {sorted(set(lengths))}")
    free: list[int] = []  # slots left in each row
    placed: list[list[int]] = []  # the examples in each row, in order
    for i in sorted(range(len(lengths)), key=lambda i: -lengths[i]):
        row = next((r for r, room in enumerate(free) if room >= lengths[i]), None)
        if row is None:
            free.append(length)
            placed.append([])
            row = len(free) - 1
        free[row] -= lengths[i]
        placed[row].append(i)
    example = torch.full((len(placed), length), -1, dtype=torch.long)
    position = torch.full((len(placed), length), -1, dtype=torch.long)
    for r, members in enumerate(placed):
        start = 0
        for i in members:
            example[r, start : start + lengths[i]] = i
            position[r, start : start + lengths[i]] = torch.arange(lengths[i])
            start += lengths[i]
    return Packing(example, position, tuple(lengths))


def _slots(packing: Packing) -> tuple[torch.Tensor, torch.Tensor]:
    """For every token, in the order of the examples concatenated: its flat slot index; and the
    flat indices of the filled slots."""
    filled = (packing.example >= 0).flatten().nonzero().flatten()
    offsets = torch.tensor((0, *packing.lengths[:-1])).cumsum(0)
    flat_token = offsets[packing.example.flatten()[filled]] + packing.position.flatten()[filled]
    slot_of_token = torch.empty_like(filled)
    slot_of_token[flat_token] = filled
    return slot_of_token, filled


def pack(tokens: list[torch.Tensor], packing: Packing) -> torch.Tensor:
    """Examples' tokens `[(n_i, d), ...]` -> rows `(rows, length, d)`, zeros at padding."""
    if [len(x) for x in tokens] != list(packing.lengths):
        raise ValueError(f"the plan is for lengths {list(packing.lengths)}, got {[len(x) for x in tokens]}")
    flat = torch.cat(tokens)
    slot_of_token, _ = _slots(packing)
    out = flat.new_zeros(packing.rows * packing.length, *flat.shape[1:])
    out[slot_of_token.to(flat.device)] = flat
    return out.view(packing.rows, packing.length, *flat.shape[1:])


def unpack(rows: torch.Tensor, packing: Packing) -> list[torch.Tensor]:
    """Rows `(rows, length, d)` -> each example's tokens `[(n_i, d), ...]`, in the order given."""
    slot_of_token, _ = _slots(packing)
    flat = rows.reshape(packing.rows * packing.length, *rows.shape[2:])[slot_of_token.to(rows.device)]
    return list(flat.split(list(packing.lengths)))


def spread(per_example: torch.Tensor, packing: Packing) -> torch.Tensor:
    """A vector per example `(n, ...)` copied to every slot of that example `(rows, length, ...)`
    (zeros at padding): the timestep and caption condition of adaLN, per token."""
    index = packing.example.clamp(min=0).to(per_example.device)
    out = per_example[index]
    return out * (packing.example >= 0).to(out.device).view(*index.shape, *([1] * (out.dim() - 2))).to(out.dtype)


def attention_mask(packing: Packing, keys: torch.Tensor | None = None) -> torch.Tensor:
    """`(rows, 1, length, keys)` bool, True where a query may look: at keys of its own example.
    `keys`: the example of each key `(rows, k)` when the keys are not the packed tokens themselves
    (a caption's words packed the same way); by default the tokens attend to each other. A padding
    query looks only at itself, so its softmax stays finite (its output is thrown away)."""
    query = packing.example
    key = query if keys is None else keys
    mask = (query[:, :, None] == key[:, None, :]) & (key[:, None, :] >= 0)
    if keys is None:
        mask |= torch.eye(packing.length, dtype=torch.bool)[None] & (query < 0)[:, :, None]
    else:
        mask[:, :, 0] |= query < 0  # padding queries look at the row's first key
    return mask[:, None]
