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


def load_book_script(name: str):
    """A script of `book/` (not a package) as a module."""
    spec = importlib.util.spec_from_file_location(f"book_{name}", ROOT / "book" / f"{name}.py")
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
    browser = load_book_script("browser")
    assert browser.markdown_tables("| a | b |\n|---|---|\n| 1 | 2 |\n\ntext\n| x |\n| :--- |\n") == 2
    assert browser.markdown_tables("a | b, not a table\n---\n") == 0
    clean = {"raw_table": False, "raw_math": False, "math_rendered": 3, "math_source": 3, "tables": 2,
             "broken_images": [], "errors": []}
    assert browser.defects(clean, 1_000_000, expected_tables=2) == []
    found = browser.defects({**clean, "raw_table": True, "math_rendered": 0, "tables": 1, "broken_images": ["a.gif"],
                             "errors": ["Traceback ..."]}, 4_000_000, expected_tables=2)
    assert len(found) == 6 and "raw pipes" in found[0] and "0 of 3" in found[1]


def test_no_two_chapters_define_the_same_function():
    """A helper two chapters need lives in the package (e.g. `reference.viz.table`), not in both."""
    seen: dict[str, str] = {}
    for path in [*CHAPTERS, ROOT / "book" / "zoo.md"]:
        for name in re.findall(r"^def (\w+)\(", path.read_text(), flags=re.M):
            assert name not in seen, f"{name}() is defined in both {seen[name]} and {path.name}: move it into the package"
            seen[name] = path.name


def test_every_chapter_lab_blanks_each_solution_and_keeps_the_rest(tmp_path):
    """Each lab has one stub per exercise solution, and every cell before its first stub is the
    chapter's own (which `make test` executes), so a lab runs up to its first blank."""
    import jupytext
    import nbformat

    labs = load_book_script("make_labs")
    written = dict(labs.write_all(tmp_path, CHAPTERS))
    for chapter in CHAPTERS:
        lab = nbformat.read(tmp_path / "labs" / f"{chapter.stem}.ipynb", as_version=4)
        solutions = len(re.findall(r"\{solution-start\}", chapter.read_text()))
        marked = sum("# BEGIN SOLUTION" in c.source for c in jupytext.read(chapter).cells if c.cell_type == "code")
        stubs = [i for i, c in enumerate(lab.cells) if "raise NotImplementedError" in c.source]
        assert solutions >= 1 and len(stubs) == solutions + marked == written[tmp_path / "labs" / f"{chapter.stem}.ipynb"]
        original = [c.source for c in jupytext.read(chapter).cells if c.cell_type == "code"]
        before = [c.source for c in lab.cells[: stubs[0]] if c.cell_type == "code"]
        assert before == original[: len(before)], f"{chapter.name}: the lab's cells before its first blank changed"
        assert not any("solution-start" in c.source or "solution-end" in c.source for c in lab.cells)
        plain = nbformat.read(tmp_path / "notebooks" / f"{chapter.stem}.ipynb", as_version=4)
        assert [c.source for c in plain.cells if c.cell_type == "code"] == original
        assert not any(c.get("outputs") for c in plain.cells)


def test_markers_must_pair_up_and_marked_lines_become_a_stub():
    import nbformat

    labs = load_book_script("make_labs")
    code = "x = 1\n    # BEGIN SOLUTION\n    y = secret()\n    # END SOLUTION\nprint(x)"
    assert labs.blank_marked_lines(code, "ex") == ("x = 1\n    # Your code here (exercise ex).\n"
                                                   "    raise NotImplementedError(\"ex: your solution here\")\nprint(x)")
    with pytest.raises(labs.MarkerError, match="without"):
        labs.blank_marked_lines("# BEGIN SOLUTION\nx = 1", "ex")
    unclosed = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("```{solution-start} ex-a\n:class: dropdown\n```"),
        nbformat.v4.new_code_cell("answer = 42"),
    ])
    with pytest.raises(labs.MarkerError, match="never ends"):
        labs.lab(unclosed)


def test_a_lab_runs_up_to_its_first_blank_and_stops_there(tmp_path):
    """Executed for real on a small notebook: the cells before the blank run, the blank raises."""
    import nbclient
    import nbformat

    labs = load_book_script("make_labs")
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("x = 2"),
        nbformat.v4.new_markdown_cell("```{exercise} Square\n:label: ex-sq\n\nSquare x.\n```\n\n"
                                      "```{solution-start} ex-sq\n:class: dropdown\n```"),
        nbformat.v4.new_code_cell("print(x * x)"),
        nbformat.v4.new_markdown_cell("Four.\n\n```{solution-end}\n```\n\nThe end."),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    lab, blanks = labs.lab(notebook)
    assert blanks == 1 and [c.cell_type for c in lab.cells] == ["code", "markdown", "code", "markdown"]
    assert lab.cells[3].source == "The end." and "Four" not in "".join(c.source for c in lab.cells)
    with pytest.raises(nbclient.exceptions.CellExecutionError, match="NotImplementedError"):
        nbclient.NotebookClient(lab, timeout=60).execute()
    assert lab.cells[0].execution_count == 1  # the cell before the blank ran


def test_dead_links_are_the_local_targets_that_do_not_exist(tmp_path):
    browser = load_book_script("browser")
    page = tmp_path / "chapters" / "x.html"
    page.parent.mkdir()
    page.write_text("")
    (tmp_path / "_downloads").mkdir()
    (tmp_path / "_downloads" / "lab.ipynb").write_text("{}")
    links = ["../_downloads/lab.ipynb", "../_downloads/gone.ipynb", "#section", "https://example.org/a", "y.html#top"]
    assert browser.dead_links(page, links) == ["../_downloads/gone.ipynb", "y.html#top"]


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.name)
def test_each_chapter_links_its_colab_notebook_and_the_committed_one_is_in_step(chapter):
    """Colab opens notebooks from GitHub, so `colab/NAME.ipynb` is committed: it must be the chapter
    as it is now, behind the set-up cell (regenerate with `python book/make_labs.py --colab`)."""
    import jupytext
    import nbformat

    labs = load_book_script("make_labs")
    assert f"{{colab}}`{chapter.stem}`" in chapter.read_text(), f"{chapter.name} must link {{colab}}`{chapter.stem}`"
    committed = nbformat.read(ROOT / "colab" / f"{chapter.stem}.ipynb", as_version=4)
    expected = labs.colab(jupytext.read(chapter))
    assert [c.source for c in committed.cells] == [c.source for c in expected.cells], \
        f"colab/{chapter.stem}.ipynb is out of step with its chapter: run `python book/make_labs.py --colab`"
    assert not any(c.get("outputs") for c in committed.cells)


def test_no_colab_notebook_without_its_chapter():
    assert sorted(p.stem for p in (ROOT / "colab").glob("*.ipynb")) == [c.stem for c in CHAPTERS]


def test_colab_set_up_cell_does_nothing_off_colab(tmp_path, monkeypatch):
    labs = load_book_script("make_labs")
    url, branch = labs.repository()
    setup = labs.SETUP.format(url=url, branch=branch)
    assert repr(url) in setup and repr(branch) in setup
    monkeypatch.chdir(tmp_path)
    exec(compile(setup, "setup", "exec"), {})  # not on Colab: no clone, no install, no move
    assert list(tmp_path.iterdir()) == [] and Path.cwd() == tmp_path


def test_colab_links_are_built_from_the_repository_setting():
    pytest.importorskip("sphinx", reason="the book extra builds the book")
    colab = load_book_script("colab")
    labs = load_book_script("make_labs")
    url, branch = labs.repository()
    link = colab.colab_url(url, branch, "08_state_of_the_art")
    org_repo = url.removeprefix("https://github.com/")
    assert link == f"https://colab.research.google.com/github/{org_repo}/blob/{branch}/colab/08_state_of_the_art.ipynb"
    with pytest.raises(Exception, match="ORG/REPO"):
        colab.colab_url("https://gitlab.com/a/b", "main", "x")
