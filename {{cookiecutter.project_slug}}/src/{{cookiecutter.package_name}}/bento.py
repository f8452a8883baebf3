"""Releasing a trained model: save it to BentoML's model registry and build the bento serving it."""

from __future__ import annotations

import tomllib
from pathlib import Path

from .artifacts import METRICS_FILE, TrainedModel, load_model
from .errors import ProjectError

# The project root of a source checkout (src layout): the bento's build context.
PROJECT = Path(__file__).resolve().parents[2]
# Packages the service imports; pinned to the versions the model was trained with, so the
# image unpickles the pipeline with the same scikit-learn that fitted it.
SERVICE_PACKAGES = ("scikit-learn", "numpy", "pandas", "pandera", "pydantic", "joblib", "pyyaml")


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
    python = {**options.pop("python", {}), "packages": _pins(model)}
    docker = {**options.pop("docker", {}), "python_version": _python_minor(model)}
    if base_image:
        docker["base_image"] = base_image
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
    return str(bento.tag)


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


def _pins(model: TrainedModel) -> list[str]:
    recorded = model.run.get("packages", {})
    pins = []
    for name in SERVICE_PACKAGES:
        version = recorded.get(name)
        if not version or version == "not installed":
            raise ProjectError(f"run.json does not record the {name} version the model used")
        pins.append(f"{name}=={version}")
    return pins


def _python_minor(model: TrainedModel) -> str:
    return ".".join(model.run["packages"]["python"].split(".")[:2])
