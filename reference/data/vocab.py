"""A closed vocabulary and tokenizer for the toy world's captions.

Captions are short and come from a fixed grammar ("a red square moving left and a blue circle
standing still"), so a word-level vocabulary is exact: every caption the world writes tokenises,
and any other word is an error rather than a silent `<unk>`. Chapter 0.
"""

from __future__ import annotations

import torch

from .world import COLOURS, MOTIONS, SHAPES

PAD = "<pad>"
WORDS: tuple[str, ...] = (PAD, "a", "moving", "standing", "and", *COLOURS, *SHAPES, *MOTIONS)
PAD_ID = 0


class Tokenizer:
    """Words to ids and back; `encode` pads (or refuses) to a fixed length."""

    def __init__(self, words: tuple[str, ...] = WORDS, max_length: int = 16) -> None:
        if words[0] != PAD:
            raise ValueError(f"the first word must be the padding token {PAD!r}")
        self.words = words
        self.max_length = max_length
        self.index = {w: i for i, w in enumerate(words)}

    @property
    def vocab_size(self) -> int:
        return len(self.words)

    def encode(self, caption: str) -> torch.Tensor:
        """Token ids of one caption, right-padded with 0 to `max_length`, shape `(n,)`."""
        words = caption.lower().split()
        unknown = [w for w in words if w not in self.index]
        if unknown:
            raise ValueError(f"words {unknown} are not in the toy vocabulary {list(self.words[1:])}")
        if len(words) > self.max_length:
            raise ValueError(f"caption has {len(words)} words; at most {self.max_length} fit")
        ids = [self.index[w] for w in words] + [PAD_ID] * (self.max_length - len(words))
        return torch.tensor(ids, dtype=torch.long)

    def encode_batch(self, captions: list[str]) -> torch.Tensor:
        """Token ids of several captions, `(b, n)`."""
        return torch.stack([self.encode(c) for c in captions])

    def decode(self, ids: torch.Tensor) -> str:
        """The caption behind a row of ids, padding dropped."""
        return " ".join(self.words[int(i)] for i in ids if int(i) != PAD_ID)
