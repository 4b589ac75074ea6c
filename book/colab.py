"""A Sphinx role that links a chapter to its Colab notebook, built from the book's one repository setting.

    {colab}`08_state_of_the_art`   ->   "run it on Colab" linking to
    https://colab.research.google.com/github/ORG/REPO/blob/BRANCH/colab/08_state_of_the_art.ipynb

ORG/REPO and BRANCH come from `repository.url` and `repository.branch` in `_config.yml` (Jupyter
Book hands them to Sphinx as `html_theme_options`). The notebook itself is `colab/NAME.ipynb`,
committed in the repository and written by `python book/make_labs.py --colab`; the build fails if
a chapter names a notebook the repository does not have.
"""

from __future__ import annotations

from pathlib import Path

from docutils import nodes
from sphinx.errors import ExtensionError

ROOT = Path(__file__).resolve().parent.parent
COLAB = "https://colab.research.google.com/github"


def colab_url(repository_url: str, branch: str, name: str) -> str:
    """The Colab address of `colab/NAME.ipynb` in a GitHub repository."""
    prefix = "https://github.com/"
    if not repository_url.startswith(prefix) or repository_url.rstrip("/").count("/") != 4:
        raise ExtensionError(f"repository.url in _config.yml must be https://github.com/ORG/REPO, got {repository_url!r}")
    org_repo = repository_url.removeprefix(prefix).rstrip("/").removesuffix(".git")
    return f"{COLAB}/{org_repo}/blob/{branch}/colab/{name}.ipynb"


def colab_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    config = inliner.document.settings.env.app.config
    theme = config.html_theme_options
    if not (ROOT / "colab" / f"{text}.ipynb").exists():
        raise ExtensionError(f"{{colab}}`{text}`: colab/{text}.ipynb is not in the repository; "
                             "write it with `python book/make_labs.py --colab`")
    url = colab_url(theme.get("repository_url", ""), theme.get("repository_branch", "main"), text)
    return [nodes.reference(rawtext, "run it on Colab", refuri=url)], []


def setup(app):
    app.add_role("colab", colab_role)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
