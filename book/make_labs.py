"""Write each chapter's lab notebook (solutions blanked) and its plain notebook, for download.

A chapter's exercises keep their solutions in MyST solution blocks (```{solution-start} LABEL``` ...
```{solution-end}```), executed with the chapter so they are known to work. A lab is the same
notebook with every solution taken out: each code cell of a solution becomes a stub that raises
`NotImplementedError` (the student's place to write), and the solution's prose goes. Inside any
code cell, lines between `# BEGIN SOLUTION` and `# END SOLUTION` (nbgrader's markers) are blanked the
same way, so a chapter can also hand key lines of its main model to the student. Outputs are
never written: a student runs the notebook.

    python book/make_labs.py _build/downloads     # writes labs/NN_name.ipynb and notebooks/NN_name.ipynb
    python book/make_labs.py --colab              # rewrites the committed colab/NN_name.ipynb

The Colab notebooks are the plain notebooks with one cell in front that, on Colab only, clones the
repository named in `_config.yml` (code and trained models), installs the package's small
dependencies (Colab has torch and matplotlib) and moves into the clone; anywhere else it does
nothing. They are committed, since Colab opens notebooks from GitHub; a test checks they are in
step with the chapters.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import jupytext
import nbformat
import yaml

ROOT = Path(__file__).resolve().parent.parent
START = re.compile(r"```\{solution-start\}\s*(\S+)[^\n]*\n(?::[^\n]*\n)*```")
END = re.compile(r"```\{solution-end\}[^\n]*\n```")
BEGIN_LINE, END_LINE = "# BEGIN SOLUTION", "# END SOLUTION"


class MarkerError(ValueError):
    """Solution markers that do not pair up (a start without an end, or the reverse)."""


def stub(label: str, indent: str = "") -> str:
    return f'{indent}# Your code here (exercise {label}).\n{indent}raise NotImplementedError("{label}: your solution here")'


def blank_marked_lines(source: str, label: str) -> str:
    """Replace every `# BEGIN SOLUTION` ... `# END SOLUTION` region of a code cell by a stub."""
    out, inside = [], None
    for line in source.splitlines():
        stripped = line.strip()
        if stripped == BEGIN_LINE:
            if inside is not None:
                raise MarkerError(f"{label}: '{BEGIN_LINE}' inside another solution region")
            inside = line[: len(line) - len(line.lstrip())]
        elif stripped == END_LINE:
            if inside is None:
                raise MarkerError(f"{label}: '{END_LINE}' without '{BEGIN_LINE}'")
            out.append(stub(label, inside))
            inside = None
        elif inside is None:
            out.append(line)
    if inside is not None:
        raise MarkerError(f"{label}: '{BEGIN_LINE}' without '{END_LINE}'")
    return "\n".join(out)


def lab(notebook: nbformat.NotebookNode) -> tuple[nbformat.NotebookNode, int]:
    """The lab version of a chapter notebook, and how many places were blanked."""
    cells, blanks, label = [], 0, None  # label: the solution being skipped, or None
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            text = cell.source
            if label is not None:  # inside a solution: drop up to its end marker
                end = END.search(text)
                if end is None:
                    continue
                text, label = text[end.end():], None
            start = START.search(text)
            while start is not None:  # a markdown cell may close one solution and open the next
                after = text[start.end():]
                if START.search(after) and not END.search(after):
                    raise MarkerError(f"solution {start.group(1)} opens before the previous one ends")
                end = END.search(after)
                if end is None:
                    text, label = text[: start.start()], start.group(1)
                    break
                text = text[: start.start()] + after[end.end():]
                start = START.search(text)
            if END.search(text):
                raise MarkerError("a solution-end without its solution-start")
            if text.strip():
                cells.append(nbformat.v4.new_markdown_cell(text.strip()))
        elif cell.cell_type == "code":
            if label is not None:
                if not cells or cells[-1].get("metadata", {}).get("lab_stub") != label:  # one stub per solution
                    stub_cell = nbformat.v4.new_code_cell(stub(label))
                    stub_cell.metadata["lab_stub"] = label
                    cells.append(stub_cell)
                    blanks += 1
                continue
            source = cell.source
            if BEGIN_LINE in source or END_LINE in source:
                source = blank_marked_lines(source, "the marked lines")
                blanks += 1
            new = nbformat.v4.new_code_cell(source)
            new.metadata = {k: v for k, v in cell.metadata.items() if k == "tags"}
            cells.append(new)
    if label is not None:
        raise MarkerError(f"solution {label} never ends")
    out = nbformat.v4.new_notebook(cells=cells, metadata=notebook.metadata)
    return out, blanks


def plain(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The chapter as a notebook with no outputs (what a reader downloads to run)."""
    out = nbformat.v4.new_notebook(metadata=notebook.metadata)
    for cell in notebook.cells:
        new = (nbformat.v4.new_code_cell if cell.cell_type == "code" else nbformat.v4.new_markdown_cell)(cell.source)
        if cell.cell_type == "code":
            new.metadata = {k: v for k, v in cell.metadata.items() if k == "tags"}
        out.cells.append(new)
    return out


def repository() -> tuple[str, str]:
    """(url, branch) from `_config.yml`'s `repository` setting."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    repo = config.get("repository", {})
    if "url" not in repo:
        raise ValueError("_config.yml has no repository.url: the Colab notebooks clone it")
    return repo["url"], repo.get("branch", "main")


SETUP = """# On Colab only: fetch the book's code and trained models, install the package's small dependencies.
import os, subprocess, sys
if "google.colab" in sys.modules and not os.path.isdir("reference"):
    subprocess.run(["git", "clone", "--depth", "1", "--branch", {branch!r}, {url!r}, "book"], check=True)
    os.chdir("book")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "einops", "safetensors", "mediapy", "imageio-ffmpeg"], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "-e", "."], check=True)
    sys.path.insert(0, os.getcwd())"""


def colab(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The plain notebook with the Colab set-up cell in front."""
    url, branch = repository()
    out = plain(notebook)
    setup = nbformat.v4.new_code_cell(SETUP.format(url=url, branch=branch))
    setup.metadata["colab_setup"] = True
    out.cells.insert(0, setup)
    for i, cell in enumerate(out.cells):  # stable ids, so a rewrite of an unchanged chapter changes nothing
        cell.id = f"cell-{i}"
    return out


def write_colab(out: Path = ROOT / "colab", chapters: list[Path] | None = None) -> list[Path]:
    """Write `colab/NAME.ipynb` for every chapter."""
    chapters = chapters or sorted((ROOT / "chapters").glob("[0-9][0-9]_*.md"))
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for chapter in chapters:
        path = out / f"{chapter.stem}.ipynb"
        nbformat.write(colab(jupytext.read(chapter)), path)
        written.append(path)
    return written


def write_all(out: Path, chapters: list[Path] | None = None) -> list[tuple[Path, int]]:
    """Write `out/labs/NAME.ipynb` and `out/notebooks/NAME.ipynb` for every chapter; (lab, blanks)."""
    chapters = chapters or sorted((ROOT / "chapters").glob("[0-9][0-9]_*.md"))
    written = []
    for chapter in chapters:
        notebook = jupytext.read(chapter)
        lab_notebook, blanks = lab(notebook)
        for folder, content in (("labs", lab_notebook), ("notebooks", plain(notebook))):
            path = out / folder / f"{chapter.stem}.ipynb"
            path.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(content, path)
        written.append((out / "labs" / f"{chapter.stem}.ipynb", blanks))
    return written


def main(argv: list[str]) -> int:
    if argv == ["--colab"]:
        for path in write_colab():
            print(f"{path.relative_to(ROOT)}")
        return 0
    out = Path(argv[0] if argv else ROOT / "_build" / "downloads")
    for path, blanks in write_all(out):
        print(f"{path.relative_to(out)}: {blanks} place(s) to fill in")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
