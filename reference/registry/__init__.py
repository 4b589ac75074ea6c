"""The zoo's registry: every model the book ships, declared in one module per chapter (chapter 0).

Each `chapter_N` module lists its chapter's entries (`ENTRIES`); `entries()` joins them in
chapter order. A new chapter adds a module here and one line below; `python -m reference.zoo list`
groups the models by chapter.
"""

from __future__ import annotations

from ..entry import Entry
from . import chapter_0, chapter_1, chapter_2, chapter_3, chapter_4, chapter_5, chapter_6, chapter_7, chapter_8

CHAPTERS = (chapter_0, chapter_1, chapter_2, chapter_3, chapter_4, chapter_5, chapter_6, chapter_7, chapter_8)


def entries() -> dict[str, Entry]:
    """Every entry by name, chapters in order; a name declared twice is an error."""
    out: dict[str, Entry] = {}
    for module in CHAPTERS:
        for spec in module.ENTRIES:
            if spec.name in out:
                raise ValueError(f"zoo model {spec.name!r} is declared twice")
            out[spec.name] = spec
    return out
