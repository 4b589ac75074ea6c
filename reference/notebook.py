"""Helpers every chapter notebook shares: tables that render in Jupyter and in the built book, and
the chapter's own running time, measured as it runs and shown at its top.

Pictures and videos are `reference.viz`'s; this module is for the rest of a notebook's display.
"""

from __future__ import annotations

import time
from typing import Sequence

_STARTED: float | None = None


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table: a header row, a rule, one line per row (a `|` inside a cell is escaped)."""
    if any(len(row) != len(header) for row in rows):
        raise ValueError(f"every row needs {len(header)} cells, got rows of {sorted({len(r) for r in rows})}")

    def line(cells: Sequence[object]) -> str:
        return "| " + " | ".join(str(cell).replace("|", "\\|") for cell in cells) + " |"

    return "\n".join([line(header), "|" + "---|" * len(header), *(line(row) for row in rows)])


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Show rows as a table in a notebook: Markdown output, which Jupyter renders and the book's
    build (MyST-NB, `nb_render_markdown_format: myst`) turns into an HTML table."""
    from IPython.display import Markdown, display

    display(Markdown(markdown_table(header, rows)))


def machine(card: dict) -> str:
    """A short name for the hardware on a zoo card: "CPU x86_64, 1 threads" -> "CPU, 1 thread",
    "NVIDIA H200" -> "H200"."""
    hardware = card["hardware"]
    if not hardware.startswith("CPU"):
        return hardware.removeprefix("NVIDIA ")
    threads = int(hardware.rsplit(", ", 1)[1].split()[0])
    return f"CPU, {threads} thread{'s' if threads > 1 else ''}"


def start_clock() -> None:
    """Call in a chapter's first cell: `runtime()` at its end measures from here."""
    global _STARTED
    _STARTED = time.perf_counter()


def runtime(key: str = "runtime") -> str:
    """The time since `start_clock()`, as text ("40 seconds", "2.5 minutes"); printed, and glued under `key` when
    the book is built (MyST-NB), so the chapter's first paragraph can show it with {glue:text}."""
    if _STARTED is None:
        raise RuntimeError("start_clock() was not called in this notebook's first cell")
    seconds = time.perf_counter() - _STARTED
    whole = round(seconds)
    text = f"{whole} second{'' if whole == 1 else 's'}" if seconds < 60 else f"{seconds / 60:.1f} minutes"
    print(f"This notebook ran in {text}.")
    try:
        from myst_nb import glue
    except ImportError:  # plain Jupyter or nbval: the print is the record
        return text
    glue(key, text, display=False)
    return text
