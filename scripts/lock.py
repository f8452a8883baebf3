"""Write the generated project's uv.lock, one per `python_version` option: templates/uv-<X.Y>.lock.

`make lock` keeps every locked version that still satisfies pyproject.toml; `make lock
UPGRADE=1` moves everything to the newest allowed. For each Python the default project is baked,
the previous lock copied in (so the two locks agree wherever the Pythons allow), `uv lock` run
with that Python, and the project's own name turned back into Jinja. The dependencies do not
depend on any other option, which tests/test_lock.py checks for every option value.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parents[1]
LOCKS = TEMPLATE / "templates"
DEFAULT_SLUG = "demand-forecast"
NAME_LINE = f'name = "{DEFAULT_SLUG}"\n'
JINJA_NAME_LINE = 'name = "{{ cookiecutter.project_slug }}"\n'
JINJA_LIKE = re.compile(r"{{|}}|{%|%}|{#|#}")


def python_versions() -> list[str]:
    return json.loads((TEMPLATE / "cookiecutter.json").read_text())["python_version"]


def lock_path(version: str) -> Path:
    return LOCKS / f"uv-{version}.lock"


def bake(version: str, out: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "cookiecutter", "--no-input", "--output-dir", str(out),
         str(TEMPLATE), f"python_version={version}"],
        check=True,
    )  # fmt: skip
    return out / DEFAULT_SLUG


def untemplated(lock: str) -> str:
    """A template lock as it renders for the default project."""
    return lock.replace(JINJA_NAME_LINE, NAME_LINE)


def templated(lock: str) -> str:
    """The project's name as Jinja, and a refusal if anything else would read as Jinja."""
    if lock.count(NAME_LINE) != 1:
        raise SystemExit(f"expected exactly one {NAME_LINE.strip()!r} in the lock")
    clash = JINJA_LIKE.search(lock)
    if clash:
        line = lock.count("\n", 0, clash.start()) + 1
        raise SystemExit(f"line {line} of the lock reads as Jinja: {clash.group()!r}")
    return lock.replace(NAME_LINE, JINJA_NAME_LINE)


def uv_command() -> str:
    """The uv beside this Python (the template's .venv), else the one on PATH."""
    beside = Path(sys.executable).with_name("uv")
    return str(beside) if beside.is_file() else shutil.which("uv") or "uv"


def lock(version: str, previous: Path, upgrade: bool, python: str | None) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        project = bake(version, Path(scratch))
        (project / "uv.lock").unlink()
        if previous is not None and previous.stat().st_size and not upgrade:
            (project / "uv.lock").write_text(untemplated(previous.read_text()))
        uv = [uv_command(), "lock", "--python", python or version]
        subprocess.run([*uv, *(["--upgrade"] if upgrade else [])], cwd=project, check=True)
        text = (project / "uv.lock").read_text()
    lock_path(version).write_text(templated(text))
    print(f"wrote {lock_path(version).relative_to(TEMPLATE)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upgrade", action="store_true", help="newest allowed versions")
    parser.add_argument(
        "--python",
        action="append",
        default=[],
        metavar="X.Y=PATH",
        help="interpreter for one version when uv does not find it (repeatable)",
    )
    args = parser.parse_args(argv)
    interpreters = dict(item.split("=", 1) for item in args.python)
    first, *others = python_versions()
    LOCKS.mkdir(exist_ok=True)
    for version in (first, *others):
        lock_path(version).touch()  # the template includes it: an empty one lets it bake
    lock(first, lock_path(first), args.upgrade, interpreters.get(first))
    for version in others:  # seeded by the first, so that their versions agree where they can
        lock(version, lock_path(first), False, interpreters.get(version))
    return 0


if __name__ == "__main__":
    sys.exit(main())
