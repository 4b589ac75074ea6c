"""The zoo's registry: every model the book ships, declared in one module per chapter (chapter 0).

Each `chapter_N` module lists its chapter's entries (`ENTRIES`); `entries()` joins them in
chapter order. A module may also name aliases (`ALIASES`: a name readers look for, such as
`i2v-tiny`, for the entry that earned it); `aliases()` joins those. A new chapter adds a module here and one line below; `python -m reference.zoo list`
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


def aliases() -> dict[str, str]:
    """Every alias -> the entry it stands for; an alias must name a declared entry and not be one."""
    known = entries()
    out: dict[str, str] = {}
    for module in CHAPTERS:
        for alias, target in getattr(module, "ALIASES", {}).items():
            if alias in known or alias in out:
                raise ValueError(f"alias {alias!r} is already a zoo name")
            if target not in known:
                raise ValueError(f"alias {alias!r} names {target!r}, which is not a zoo model")
            out[alias] = target
    return out
