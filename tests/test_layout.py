"""The layout keeps its dependencies pointing one way: nn imports nothing above it (and no
model), backends import only nn, nothing imports the command line."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1] / "seqcast"


def _imports(path: Path) -> set[str]:
    """Every seqcast module ``path`` imports, anywhere in it, as a dotted name."""
    package = ".".join(path.relative_to(ROOT.parent).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                name = f"{base}.{node.module}" if node.module else base
            else:
                name = node.module or ""
            found.add(name)
            found.update(f"{name}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith("seqcast")}


def _files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py")) if folder else sorted(ROOT.rglob("*.py"))


@pytest.mark.parametrize("path", _files("nn"), ids=lambda p: p.name)
def test_nn_imports_nothing_above_it(path):
    assert all(name.startswith("seqcast.nn") for name in _imports(path)), _imports(path)


@pytest.mark.parametrize("path", _files("backends"), ids=lambda p: str(p.relative_to(ROOT)))
def test_backends_import_only_nn(path):
    assert all(name.startswith(("seqcast.nn", "seqcast.backends")) for name in _imports(path))


def test_nothing_imports_the_command_line():
    for path in _files(""):
        if path.relative_to(ROOT).parts[0] == "cli" or path.name == "__main__.py":
            continue
        assert not any(name.startswith("seqcast.cli") for name in _imports(path)), path
    for path in _files("cli"):  # the verb groups do not import the entry point back
        if path.name not in ("app.py", "__init__.py"):
            assert not any(name in ("seqcast.cli", "seqcast.cli.app") for name in _imports(path)), path
