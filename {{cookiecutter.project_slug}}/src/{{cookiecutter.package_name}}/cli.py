"""The one command line that people, tests and workflows share: `python -m {{ cookiecutter.package_name }}`.

Here is what each subcommand accepts; commands.py does it. Only argparse is imported here (and
the standard library there): each subcommand imports its heavy libraries when it runs, so
`--help` answers at once.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .commands import (
    run_adopt,
    run_bento,
    run_card,
    run_champion,
    run_collect,
    run_comment,
    run_compare,
    run_data,
    run_drift,
    run_evaluate,
    run_fetch,
    run_predict,
    run_promote,
    run_retrain,
    run_train,
    run_validate,
)
from .errors import ProjectError


def _utc_time(text: str):
    import pandas as pd

    try:
        moment = pd.Timestamp(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"expected an ISO time, got {text!r}") from error
    return moment.tz_localize("UTC") if moment.tzinfo is None else moment.tz_convert("UTC")


def _run_url(text: str) -> str:
    if not text.startswith("https://"):
        raise argparse.ArgumentTypeError(f"expected an https:// URL, got {text!r}")
    return text


def _github_repo(text: str) -> str:
    owner, _, name = text.partition("/")
    allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
    if not (owner and name) or not set(owner + name) <= allowed:
        raise argparse.ArgumentTypeError(f"expected OWNER/NAME, got {text!r}")
    return text


def project_description(params: Path = Path("params.yaml")) -> str:
    """The project's own line (`description` in params.yaml, which `adopt` writes), or ''."""
    import yaml  # light, unlike pandas or pandera: `--help` stays quick

    try:
        found = yaml.safe_load(params.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return ""
    described = found.get("description") if isinstance(found, dict) else None
    return described.strip() if isinstance(described, str) else ""


def build_parser() -> argparse.ArgumentParser:
    stages = "data, training, pull-request comparison, serving, drift checks"
    described = project_description()
    parser = argparse.ArgumentParser(
        prog="{{ cookiecutter.project_slug }}",
        description=f"{described}\n\nCommands: {stages}." if described else f"Commands: {stages}.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_model_commands(commands)
    _add_pull_request_commands(commands)
    _add_release_commands(commands)
    _add_monitoring_commands(commands)
    return parser


def _add_model_commands(commands: argparse._SubParsersAction) -> None:
    """data -> validate -> train -> evaluate: the local loop."""
    data = commands.add_parser("data", help="write the demo data set (deterministic)")
    data.add_argument("--scenario", choices=("baseline", "fuel-shock"), default="baseline")
    data.add_argument("--rows", type=_positive_int, default=8760)
    data.add_argument("--seed", type=int, default=0)
    data.add_argument("--start", help="first day, YYYY-MM-DD (default: by scenario)")
    data.add_argument("--out", type=Path, required=True, help="CSV file to write")
    data.set_defaults(handler=run_data)

    adopt = commands.add_parser(
        "adopt", help="make a CSV or Parquet file the project's data: schema, params, a model"
    )
    adopt.add_argument("path", type=Path, help="CSV or Parquet file with a header row")
    adopt.add_argument("--target", required=True, help="the column to predict")
    adopt.add_argument("--task", choices=("regression", "classification"))
    adopt.add_argument("--time-column", help="rows are ordered by it; the newest are held out")
    adopt.add_argument("--key", nargs="+", default=[], metavar="COLUMN", help="identifies a row")
    adopt.add_argument("--slices", nargs="+", metavar="COLUMN", help="report metrics per value")
    adopt.add_argument(
        "--group-by", nargs="+", default=[], metavar="COLUMN", help="rows held out together"
    )
    adopt.add_argument(
        "--description", help="one line on what the model is for (default: said from the data)"
    )
    adopt.add_argument(
        "--drop-missing-target",
        action="store_true",
        help="leave out the rows whose target is empty (counted in the summary)",
    )
    adopt.add_argument("--params", type=Path, default=Path("params.yaml"))
    adopt.set_defaults(handler=run_adopt)

    fetch = commands.add_parser(
        "fetch", help="pull the DVC-tracked data (every *.dvc pointer), verified by md5"
    )
    fetch.add_argument("--params", type=Path, default=Path("params.yaml"))
    fetch.set_defaults(handler=run_fetch)

    validate = commands.add_parser("validate", help="check a data file against the schema")
    validate.add_argument("path", type=Path, nargs="?", help="default: data.train in params")
    validate.add_argument("--markdown", type=Path, help="also write the report as markdown")
    validate.add_argument("--params", type=Path, default=Path("params.yaml"))
    validate.set_defaults(handler=run_validate)

    train = commands.add_parser("train", help="fit the model described by params.yaml")
    train.add_argument("--out", type=Path, required=True, help="model directory to write")
    train.add_argument("--data", type=Path, help="training CSV (default: data.train in params)")
    train.add_argument("--params", type=Path, default=Path("params.yaml"))
    train.set_defaults(handler=run_train)

    evaluate = commands.add_parser("evaluate", help="score a model on a CSV, overall and per slice")
    evaluate.add_argument("--model", type=Path, required=True, help="directory written by train")
    evaluate.add_argument("--data", type=Path, help="labelled data (default: data.train)")
    evaluate.add_argument("--params", type=Path, default=Path("params.yaml"))
    evaluate.add_argument("--json", type=Path, help="also write the metrics as JSON")
    evaluate.set_defaults(handler=run_evaluate)


def _add_pull_request_commands(commands: argparse._SubParsersAction) -> None:
    """What the pr workflows run besides training: main's model, the comparison, the comment."""
    champion = commands.add_parser("champion", help="train main's model from the base commit")
    champion.add_argument("--base", required=True, help="git revision of the base (e.g. main)")
    champion.add_argument("--out", type=Path, required=True, help="model directory to write")
    champion.add_argument("--params", type=Path, default=Path("params.yaml"))
    champion.set_defaults(handler=run_champion)

    compare = commands.add_parser("compare", help="champion vs challenger: the PR comment and gate")
    compare.add_argument("--champion", type=Path, required=True, help="written by champion")
    compare.add_argument("--challenger", type=Path, required=True, help="written by train")
    compare.add_argument("--data", type=Path, help="its holdout is scored (default: data.train)")
    compare.add_argument("--params", type=Path, default=Path("params.yaml"))
    compare.add_argument("--out", type=Path, required=True, help="markdown file to write")
    compare.add_argument("--validation", type=Path, help="markdown written by validate")
    compare.add_argument("--artifacts", type=Path, help="directory for report.md and report.json")
    compare.add_argument("--lock", type=Path, default=Path("uv.lock"), help="lock file to cite")
    compare.set_defaults(handler=run_compare)

    comment = commands.add_parser(
        "comment", help="the PR comment from report.json (untrusted data), size-bounded"
    )
    comment.add_argument("--report", type=Path, required=True, help="report.json from compare")
    comment.add_argument("--out", type=Path, required=True, help="markdown file to write")
    comment.add_argument("--run-url", type=_run_url, help="the pr run, linked when truncated")
    comment.set_defaults(handler=run_comment)


def _add_release_commands(commands: argparse._SubParsersAction) -> None:
    """Serving the merged model: batch predictions, the bento, the model card."""
    predict = commands.add_parser("predict", help="batch predictions for a CSV of model inputs")
    predict.add_argument("--model", type=Path, required=True, help="directory written by train")
    predict.add_argument("--input", type=Path, required=True, help="CSV of model inputs")
    predict.add_argument("--out", type=Path, required=True, help="CSV: inputs + predictions")
    predict.set_defaults(handler=run_predict)

    bento = commands.add_parser("bento", help="save the model to BentoML and build its bento")
    bento.add_argument("--model", type=Path, required=True, help="directory written by train")
    bento.add_argument("--version", help="bento version (default: generated by BentoML)")
    bento.add_argument(
        "--base-image", help="the image's FROM (default: BentoML's python:<version>-slim)"
    )
    bento.set_defaults(handler=run_bento)

    promote = commands.add_parser(
        "promote", help="pin an image digest in a deploy/ overlay (production: staging's)"
    )
    promote.add_argument("--env", choices=("staging", "production"), required=True)
    promote.add_argument("--digest", help="sha256:... of the image (staging)")
    promote.add_argument("--release", help="the release the image came from, e.g. model-<sha>")
    promote.add_argument(
        "--releases-url", type=_run_url, help="https://.../releases/tag: links the release"
    )
    promote.add_argument("--card", type=Path, help="the model card, for the pull request body")
    promote.add_argument("--body", type=Path, help="write the pull request body here")
    promote.add_argument("--project", type=Path, default=Path("."), help="the project's root")
    promote.set_defaults(handler=run_promote)

    card = commands.add_parser("card", help="write the model card (markdown) for a release")
    card.add_argument("--model", type=Path, required=True, help="directory written by train")
    card.add_argument("--out", type=Path, required=True, help="markdown file to write")
    card.add_argument("--pr", type=_positive_int, help="number of the approving pull request")
    card.add_argument("--repo", type=_github_repo, help="OWNER/NAME, to link the pull request")
    card.set_defaults(handler=run_card)


def _add_monitoring_commands(commands: argparse._SubParsersAction) -> None:
    """What the drift workflow runs: the served rows, the check, then the next training snapshot."""
    drift = commands.add_parser("drift", help="recent vs training data: drift, quality, decay")
    drift.add_argument("--reference", help="training data (default: data.train in params)")
    drift.add_argument("--current", help="CSV, folder or URL (default: data.incoming)")
    drift.add_argument("--out", type=Path, required=True, help="directory to write")
    drift.add_argument("--model", type=Path, help="model directory: its decay on labelled data")
    drift.add_argument("--params", type=Path, default=Path("params.yaml"))
    drift.set_defaults(handler=run_drift)

    collect = commands.add_parser(
        "collect", help="prediction logs (+ outcomes that arrived) to recent data for drift"
    )
    collect.add_argument("--logs", help="log file, folder or URL (default: serving.logs)")
    collect.add_argument(
        "--labels", help="outcomes with request_id (or the key) and the target (serving.outcomes)"
    )
    collect.add_argument("--since", type=_utc_time, help="first time to keep (ISO; UTC if naive)")
    collect.add_argument("--until", type=_utc_time, help="keep rows served before this time")
    collect.add_argument("--out", type=Path, help="file to write (default: next in data.incoming)")
    collect.add_argument(
        "--if-configured", action="store_true", help="do nothing when serving.logs is not set"
    )
    collect.add_argument("--params", type=Path, default=Path("params.yaml"))
    collect.set_defaults(handler=run_collect)

    retrain = commands.add_parser("retrain", help="next training snapshot, with recent data")
    retrain.add_argument("--current", help="recent labelled data (default: data.incoming)")
    retrain.add_argument("--drift", type=Path, help="drift --out directory, recorded as the reason")
    retrain.add_argument("--params", type=Path, default=Path("params.yaml"))
    retrain.add_argument(
        "--summary", type=Path, help="write the recalibrated thresholds (markdown) here"
    )
    retrain.set_defaults(handler=run_retrain)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; 0 on success, 1 on bad input (explained on stderr), 2 on bad usage."""
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except ProjectError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
