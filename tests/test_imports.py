"""The package's import graph has no cycle: the store below the recipes, the registry above them,
the command line on top (every `import` statement counts, including those inside functions)."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "reference"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The package modules `path` imports, resolved (`from .. import zoo` -> reference.zoo)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("reference")}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            if not base.startswith("reference"):
                continue
            for alias in node.names:  # `from . import zoo` imports the module reference.zoo
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in modules else base)
    return {m for m in found if m in modules and m != name}


def graph() -> dict[str, set[str]]:
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(p) for p in paths}
    return {module_name(p): imports_of(p, modules) for p in paths}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_cycle_finder_finds_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_the_package_has_no_import_cycle():
    edges = graph()
    assert "reference.store" in edges["reference.recipes.vdm"], "the parser must see the recipes' store imports"
    assert "reference.recipes.vdm" in edges["reference.registry.chapter_2"] and "reference.registry" in edges["reference.zoo"]
    cycle = find_cycle(edges)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_store_and_the_evaluation_module_import_no_recipe():
    edges = graph()
    for low in ("reference.store", "reference.evaluation", "reference.sampling"):
        assert not {m for m in edges[low] if m.startswith("reference.recipes") or m == "reference.zoo"}, low


# A recipe that fine-tunes another recipe's model takes that recipe whole as its base (chapter 7's
# image-to-video models are t2v-tiny's recipe plus a condition): the one declared exception.
BUILDS_ON = {"reference.recipes.i2v": {"reference.recipes.motion"},
             "reference.recipes.cascade": {"reference.recipes.prior"},  # the cascade samples the prior's embeddings
             "reference.recipes.sora": {"reference.recipes.motion"},  # t2v-tiny's recipe at native sizes
             "reference.recipes.latte": {"reference.recipes.motion"}}  # latte-tiny trains by t2v-tiny's recipe


def test_no_recipe_imports_another_recipe():
    edges = graph()
    for name, targets in edges.items():
        if name.startswith("reference.recipes.") :
            others = {t for t in targets if t.startswith("reference.recipes.")} - BUILDS_ON.get(name, set())
            assert not others, f"{name} imports {others}: shared code belongs outside the recipes"
