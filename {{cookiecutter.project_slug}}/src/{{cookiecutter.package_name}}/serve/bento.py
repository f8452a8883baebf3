"""Releasing a trained model: save it to BentoML's model registry and build the bento serving it."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import tomllib
from pathlib import Path

from ..errors import ProjectError
from ..model.artifacts import METRICS_FILE, TrainedModel, load_model

# The project root of a source checkout (src layout): the bento's build context.
PROJECT = Path(__file__).resolve().parents[3]
# Packages the service imports: uv.lock must pin each at the version the model was trained
# with, so the image unpickles the pipeline with the same scikit-learn that fitted it.
SERVICE_PACKAGES = ("scikit-learn", "numpy", "pandas", "pandera", "pydantic", "joblib", "pyyaml")
# The image's FROM, pinned by digest in a Dockerfile that Dependabot's docker ecosystem updates.
BASE_DOCKERFILE = PROJECT / "container" / "Dockerfile"
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^\s;]+)\s*(?:;\s*(.+))?$")


def save_model(model_dir: str | Path) -> str:
    """Save the pipeline, its run record and metrics, to the model registry; return the tag."""
    import bentoml

    from .api import MODEL_NAME

    model = load_model(model_dir)
    metrics = _read_metrics(Path(model_dir))
    saved = bentoml.sklearn.save_model(
        MODEL_NAME,
        model.pipeline,
        signatures={"predict": dict(batchable=True)},  # a dict literal here would read as Jinja
        labels=_labels(model, metrics),
        # BentoML metadata holds no nulls: a metric undefined on the holdout is left out.
        metadata={
            "task": model.task,
            "metrics": {name: value for name, value in metrics.items() if value is not None},
            "data": model.run["data"],
        },
        custom_objects={"run": model.run},
    )
    return str(saved.tag)


def build_bento(
    model_dir: str | Path, version: str | None = None, base_image: str | None = None
) -> str:
    """Save the model, build the bento from [tool.bentoml.build] in pyproject; return its tag.

    `base_image` replaces BentoML's python:<version>-slim as the image's `FROM`: it must have
    bash, pip, groupadd/useradd and the training run's Python (`uv venv -p` still asks for it).
    """
    # Everything that can be refused is checked before BentoML is imported or the store touched.
    options = build_options()
    model = load_model(model_dir)
    labels = {**options.pop("labels", {}), **_labels(model, _read_metrics(Path(model_dir)))}
    locked = locked_requirements()
    check_trained_with_the_lock(model, locked)
    # BentoML reads requirements_txt only inside the build context, by a relative path, and
    # never a hidden file
    handle, name = tempfile.mkstemp(prefix="bento-requirements-", suffix=".txt", dir=PROJECT)
    requirements = Path(name)
    with open(handle, "w", encoding="utf-8") as stream:
        stream.write(locked)
    python = {**options.pop("python", {}), "requirements_txt": requirements.name}
    docker = {**options.pop("docker", {}), "python_version": _python_minor(model)}
    docker["base_image"] = base_image or pinned_base_image()
    import bentoml

    from .api import MODEL_NAME

    model_tag = save_model(model_dir)
    try:
        bento = bentoml.bentos.build(
            **options,
            # the OpenAPI document's description: the project's own line, not BentoML's default
            description=model.run["params"].get("description") or None,
            labels=labels,
            python=python,
            docker=docker,
            models=[{"tag": model_tag, "alias": MODEL_NAME}],
            version=version,
            build_ctx=str(PROJECT),
        )
    except bentoml.exceptions.BentoMLException as error:
        raise ProjectError(f"bentoml build failed: {error}") from error
    finally:
        requirements.unlink(missing_ok=True)
    return str(bento.tag)


def locked_requirements(project: Path = PROJECT) -> str:
    """The serve extra exactly as uv.lock pins it (`uv export --locked`): the image installs
    these, dependencies of dependencies included, and nothing is resolved at build time."""
    uv = shutil.which("uv")
    if uv is None:
        raise ProjectError("uv is not on PATH: the image's packages are exported from uv.lock")
    done = subprocess.run(
        [uv, "export", "--locked", "--no-hashes", "--no-emit-project", "--extra", "serve",
         "--format", "requirements.txt", "--quiet"],
        cwd=project, capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode != 0:
        raise ProjectError(f"uv export --locked failed (run `uv lock`?): {done.stderr.strip()}")
    return done.stdout


def locked_versions(requirements: str, python: str) -> dict[str, str]:
    """name -> version of every pin that applies to `python` (a full version, e.g. 3.11.7)."""
    from packaging.markers import Marker

    environment = {"python_full_version": python, "python_version": _minor(python)}
    versions = {}
    for line in requirements.splitlines():
        match = PIN.match(line.strip())
        if match and (not match[3] or Marker(match[3]).evaluate(environment)):
            versions[_normal(match[1])] = match[2]
    return versions


def check_trained_with_the_lock(model: TrainedModel, requirements: str) -> None:
    """ProjectError unless uv.lock pins each service package at the version run.json records."""
    recorded = model.run.get("packages", {})
    locked = locked_versions(requirements, recorded.get("python", ""))
    for name in SERVICE_PACKAGES:
        version = recorded.get(name)
        if not version or version == "not installed":
            raise ProjectError(f"run.json does not record the {name} version the model used")
        if locked.get(_normal(name)) != version:
            raise ProjectError(
                f"the model was trained with {name} {version} but uv.lock pins "
                f"{locked.get(_normal(name), 'none')}: train in the locked environment"
            )


def pinned_base_image(dockerfile: Path = BASE_DOCKERFILE) -> str:
    """The image's FROM as container/Dockerfile pins it: NAME:TAG@sha256:DIGEST."""
    if not dockerfile.is_file():
        raise ProjectError(f"{dockerfile} not found: it pins the image's base by digest")
    found = re.findall(r"^FROM\s+(\S+@sha256:[0-9a-f]{64})\s*$", dockerfile.read_text(), re.M)
    if len(found) != 1:
        raise ProjectError(f"{dockerfile} must have one FROM line pinned by @sha256 digest")
    return found[0]


def build_options(pyproject: Path = PROJECT / "pyproject.toml") -> dict:
    """The static build options: [tool.bentoml.build] of the project's pyproject.toml."""
    if not pyproject.is_file():
        raise ProjectError(f"{pyproject} not found: build the bento from a source checkout")
    options = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    try:
        return dict(options["tool"]["bentoml"]["build"])
    except KeyError:
        raise ProjectError(f"{pyproject} has no [tool.bentoml.build] table") from None


def _read_metrics(model_dir: Path) -> dict[str, float | None]:
    import json

    path = model_dir / METRICS_FILE
    if not path.is_file():
        raise ProjectError(f"{model_dir} has no {METRICS_FILE}: is it a trained model directory?")
    return json.loads(path.read_text(encoding="utf-8"))


def _labels(model: TrainedModel, metrics: dict[str, float | None]) -> dict[str, str]:
    """Searchable strings: where the model came from and how good it was on its holdout."""
    commit = model.run.get("git", {}).get("commit") or "unknown"
    labels = {
        "git-sha": commit,
        "data-sha256": model.run["data"]["sha256"],
        "task": model.task,
        "model": model.run["params"]["model"]["name"],
    }
    labels.update({f"holdout-{name}": _number(value) for name, value in metrics.items()})
    return labels


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()  # PEP 503


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def _python_minor(model: TrainedModel) -> str:
    return _minor(model.run["packages"]["python"])
