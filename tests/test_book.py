"""The book's sources: one chapter numbering everywhere, and the page checker's own rules.

Chapter N lives in `chapters/0N_*.md`, carries the label `chapter-N` and the title "N. ...", and
every cross-reference that names a chapter number points at that chapter's label, so the sidebar,
the headings, the file names and the prose cannot disagree. The browser check of the built pages
(`book/browser.py`, run by `make test` after `make book`) is tested here on snippets."""

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.md"))
SOURCES = [*CHAPTERS, *sorted((ROOT / "book").glob("*.md")), ROOT / "README.md"]


def load_browser():
    spec = importlib.util.spec_from_file_location("book_browser", ROOT / "book" / "browser.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_label_title_and_file_number_agree(path):
    number = int(path.name[:2])
    text = path.read_text()
    label = re.search(r"^\((chapter-\d+)\)=\n# (\d+)\. ", text, flags=re.M)
    assert label, f"{path.name} must open with (chapter-{number})= and a title '# {number}. ...'"
    assert label.group(1) == f"chapter-{number}" and int(label.group(2)) == number


def test_sphinx_numbering_is_off_so_it_cannot_disagree():
    assert "numbered" not in (ROOT / "_toc.yml").read_text()


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_cross_references_name_the_chapter_they_point_to(path):
    text = path.read_text()
    for said, target in re.findall(r"\{ref\}`[^`<]*?[Cc]hapter (\d+)[^`<]*<chapter-(\d+)>`", text):
        assert said == target, f"{path.name}: 'chapter {said}' links to chapter-{target}"
    for said, target in re.findall(r"\{doc\}`[^`<]*?[Cc]hapter (\d+)[^`<]*<[./]*chapters/(\d+)_", text):
        assert int(said) == int(target), f"{path.name}: 'chapter {said}' links to file {target}_"
    assert not re.search(r"\{doc\}`[^`]*chapters/", text) or path.name == "README.md", \
        f"{path.name}: link chapters by their labels ({{ref}}`chapter N <chapter-N>`), not their files"


def test_page_checker_counts_tables_and_names_defects():
    browser = load_browser()
    assert browser.markdown_tables("| a | b |\n|---|---|\n| 1 | 2 |\n\ntext\n| x |\n| :--- |\n") == 2
    assert browser.markdown_tables("a | b, not a table\n---\n") == 0
    clean = {"raw_table": False, "raw_math": False, "math_rendered": 3, "math_source": 3, "tables": 2,
             "broken_images": [], "errors": []}
    assert browser.defects(clean, 1_000_000, expected_tables=2) == []
    found = browser.defects({**clean, "raw_table": True, "math_rendered": 0, "tables": 1, "broken_images": ["a.gif"],
                             "errors": ["Traceback ..."]}, 4_000_000, expected_tables=2)
    assert len(found) == 6 and "raw pipes" in found[0] and "0 of 3" in found[1]
