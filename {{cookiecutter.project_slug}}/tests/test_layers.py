"""The package's folders are its stages, and its imports make them layers.

A stage imports only itself, the stages below it and the shared helpers at the package's top
(errors, folders, caches, ...), which import nothing of the package but each other. Only the
entry points at the top (the command line and its commands, the bento's service) import the
stages freely. Imports are read from the code with `ast`, lazy ones inside functions included.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "{{ cookiecutter.package_name }}"
# Each stage and the stages it may import. model and data are the layers every stage stands
# on; training, review, serve, monitor and adopt sit side by side above them.
ALLOWED = {
    "model": set(),
    "data": {"model"},
    "training": {"data", "model"},
    "review": {"data", "model"},
    "serve": {"data", "model"},
    "monitor": {"data", "model"},
    "adopt": {"data", "model"},
}
ENTRY_POINTS = {"__init__", "__main__", "cli", "commands", "demo", "service"}


def imported_modules(path: Path, root: Path) -> list[tuple[int, tuple[str, ...]]]:
    """(line, module path inside the package) for every import of the package in `path`."""
    package = path.relative_to(root.parent).with_suffix("").parts[:-1]  # ("pkg", "stage")
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - node.level + 1]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == root.name:
            base = ()
        elif isinstance(node, ast.Import):
            names = [alias.name.split(".") for alias in node.names]
            found += [(node.lineno, tuple(n[1:])) for n in names if n[0] == root.name]
            continue
        else:
            continue
        module = tuple(node.module.split(".")) if node.module else ()
        target = (base + module)[1:]
        if root.joinpath(*target).is_dir():  # `from .stage import a, b`: each name a module
            found += [(node.lineno, (*target, alias.name)) for alias in node.names]
        else:
            found.append((node.lineno, target))
    return found


def where(parts: tuple[str, ...], root: Path) -> str:
    """The stage a module path belongs to, or "top" for the top level's own modules."""
    return parts[0] if parts and (root / parts[0]).is_dir() else "top"


def upward_imports(root: Path, allowed: dict[str, set[str]]) -> list[str]:
    """Every import that breaks the layers, as `file:line: imports module`."""
    broken = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        stage = where(parts, root)
        if stage == "top" and parts[0] in ENTRY_POINTS:
            continue
        for line, target in imported_modules(path, root):
            into = where(target, root)
            if into == "top":
                fine = bool(target) and target[0] not in ENTRY_POINTS
            else:
                fine = stage != "top" and (into == stage or into in allowed[stage])
            if not fine:
                module = ".".join(target) or root.name
                broken.append(f"{path.relative_to(root)}:{line}: imports {module}")
    return broken


def test_every_folder_of_the_package_is_a_known_stage():
    stages = {path.name for path in PACKAGE.iterdir() if (path / "__init__.py").is_file()}
    assert stages == set(ALLOWED)


def test_no_stage_imports_a_stage_above_it_or_beside_it():
    assert upward_imports(PACKAGE, ALLOWED) == []


def test_the_shared_helpers_import_no_stage():
    helpers = [path for path in PACKAGE.glob("*.py") if path.stem not in ENTRY_POINTS]
    assert helpers, "the package has shared helpers at its top"
    for path in helpers:
        for line, target in imported_modules(path, PACKAGE):
            assert where(target, PACKAGE) == "top", f"{path.name}:{line} imports {target}"


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("from ..review.compare import compare\n", "2: imports review.compare"),  # a layer up
        ("from ..monitor import drift\n", "2: imports monitor.drift"),  # beside it
        ("def lazy():\n    from ..cli import main\n", "3: imports cli"),  # inside a function
        ("import {{ cookiecutter.package_name }}.serve.api\n", "2: imports serve.api"),
    ],
)
def test_an_import_out_of_the_layers_is_found(tmp_path, source, found):
    root = tmp_path / "{{ cookiecutter.package_name }}"
    for folder in ("data", "model", "monitor", "review", "serve"):
        (root / folder).mkdir(parents=True)
        (root / folder / "__init__.py").write_text("")
    (root / "errors.py").write_text("")
    (root / "model" / "params.py").write_text("from ..errors import ProjectError\n")
    (root / "data" / "tables.py").write_text("from ..model.params import Params\n" + source)
    assert upward_imports(root, ALLOWED) == [f"data/tables.py:{found}"]
