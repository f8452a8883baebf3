"""The one command line that people, tests and workflows share: `python -m {{ cookiecutter.package_name }}`.

Only argparse is imported here; each subcommand imports its heavy libraries when it runs, so
`--help` answers at once.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from .errors import ProjectError


def _data(args: argparse.Namespace) -> int:
    from .demo import write_demo

    print(write_demo(args.scenario, rows=args.rows, seed=args.seed, start=args.start, out=args.out))
    return 0


def _validate(args: argparse.Namespace) -> int:
    from .data.contract import Contract
    from .data.tables import read_table
    from .data.validation import validate_frame
    from .data.validation_cache import read_validated
    from .model.params import load_params

    params = load_params(args.params)
    contract = Contract.load(params)
    args.path = args.path or params.train_path
    frame = read_table(args.path)
    if contract.is_labelled(list(frame.columns)):
        # through the cache: train and compare, next in the PR check, then skip this work
        _, report = read_validated(args.path, contract.records, frame)
    else:
        _, report = validate_frame(frame, contract.unlabelled, source=str(args.path))
    print(report.as_text())
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(report.as_markdown() + "\n", encoding="utf-8")
    if report.valid and os.environ.get("GITHUB_OUTPUT"):
        from .github_actions import write_github_output

        # pr.yml fits two models side by side only when the runner has memory for both
        write_github_output("table_bytes", str(int(frame.memory_usage(deep=True).sum())))
    return 0 if report.valid else 1


def _adopt(args: argparse.Namespace) -> int:
    from .adopt.adopt import adopt
    from .model.params import load_params
    from .monitor.calibrated_params import calibrate_adopted
    from .training.train import TrainResult, train

    calibrated = []  # the calibration's one-line summary, once the check has run

    def validate_and_train(project: Path) -> tuple[TrainResult, str | None]:
        # the adopted files must make a project that trains, or adopt restores the old ones
        params = load_params(project / args.params.name)
        with tempfile.TemporaryDirectory() as scratch:
            trained = train(params, Path(scratch) / "model")
        calibrated.append(calibrate_adopted(project / args.params.name))
        from .adopt.trivial import doubt_about

        doubt = doubt_about(params, trained)
        if (project / ".dvc").is_dir():
            from .data.storage import record

            # a DVC project keeps the data out of git: track and push it, or adopt undoes all
            version = record(params.train_path)
            print(f"tracked {params.data.train} with DVC ({version.md5[:12]}), pushed")
        return trained, doubt

    result = adopt(
        args.path,
        args.params.resolve().parent,
        target=args.target,
        task=args.task,
        time_column=args.time_column,
        key=args.key,
        slices=args.slices,
        group_by=args.group_by,
        description=args.description,
        drop_missing_target=args.drop_missing_target,
        check=validate_and_train,
    )
    print("\n".join(f"- {decision}" for decision in result.decisions))
    trained, doubt = result.checked
    shown = ", ".join(f"{name} {value:.4g}" for name, value in sorted(trained.metrics.items()))
    print(f"Validated and trained once on the holdout: {shown}.")
    print(calibrated[0])
    print(_beside_baseline(trained))
    if doubt:
        print(f"Not ready for a pull request: {doubt}")
        return 0
    print(
        "Next: commit what adopt wrote (schema.yaml, params.yaml, the data, README.md, "
        "pyproject.toml, .github/smoke/predict.json) on a branch and open a pull request."
    )
    return 0


def _train(args: argparse.Namespace) -> int:
    from .model.params import load_params
    from .training.train import train

    result = train(load_params(args.params), args.out, data=args.data)
    print(
        f"trained {result.run['params']['model']['name']} ({result.run['params']['task']}), "
        f"wrote {result.out}"
    )
    print(json.dumps(result.metrics, indent=2, sort_keys=True))
    print(_beside_baseline(result))
    return 0


def _beside_baseline(trained) -> str:
    """The primary metric beside the trivial baseline's, as one or two sentences."""
    from .model.baseline import beside_baseline

    primary = trained.run["params"]["gate"]["primary_metric"]
    return "Baseline: " + beside_baseline(primary, trained.metrics[primary], trained.baseline)


def _evaluate(args: argparse.Namespace) -> int:
    from .training.evaluate import evaluate, format_table

    if args.data is None:
        from .model.params import load_params

        args.data = load_params(args.params).train_path
    evaluation = evaluate(args.model, args.data)
    print(format_table(evaluation))
    if args.json:
        from .model.artifacts import write_json
        from .model.metrics import json_safe

        write_json(
            args.json,
            {
                "rows": evaluation.rows,
                "overall": json_safe(evaluation.overall),
                "slices": [json_safe(row) for row in evaluation.slices],
            },
        )
    return 0


def _predict(args: argparse.Namespace) -> int:
    from .serve.predict import predict_file

    written = predict_file(args.model, args.input, args.out)
    print(f"wrote {len(written)} predictions to {args.out}")
    return 0


def _bento(args: argparse.Namespace) -> int:
    from .github_actions import write_github_output
    from .serve.bento import build_bento

    tag = build_bento(args.model, version=args.version, base_image=args.base_image)
    write_github_output("tag", tag)
    print(tag)  # last line of stdout: scripts read the tag from here
    return 0


def _promote(args: argparse.Namespace) -> int:
    from .github_actions import write_github_output
    from .serve.promote import Pin, promote, pull_request_body

    if (args.digest is None) != (args.release is None):
        raise ProjectError("pass --digest and --release together")
    pin = Pin(args.digest, args.release) if args.digest else None
    before, after = promote(args.project, args.env, pin)
    print(f"{args.env}: {before.release} ({before.digest}) -> {after.release} ({after.digest})")
    write_github_output("release", after.release)
    write_github_output("digest", after.digest)
    write_github_output("previous", before.digest)
    write_github_output("changed", "true" if before != after else "false")
    if args.body:
        card = args.card.read_text(encoding="utf-8") if args.card else ""
        args.body.parent.mkdir(parents=True, exist_ok=True)
        url = f"{args.releases_url.rstrip('/')}/{after.release}" if args.releases_url else None
        text = pull_request_body(args.env, before, after, url, card)
        args.body.write_text(text, encoding="utf-8")
    return 0


def _card(args: argparse.Namespace) -> int:
    from .serve.card import model_card

    text = model_card(args.model, pr=args.pr, repo=args.repo)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote the model card to {args.out}")
    return 0


def _drift(args: argparse.Namespace) -> int:
    from .github_actions import write_github_output
    from .model.params import load_params
    from .monitor.drift import SUMMARY_FILE, check_drift

    params = load_params(args.params)
    reference = args.reference or params.train_path
    current = args.current or params.incoming_location
    result = check_drift(params, reference, current, args.out, model=args.model)
    print((args.out / SUMMARY_FILE).read_text(encoding="utf-8"), end="")
    write_github_output("drift", "true" if result["drift"] else "false")
    # retraining needs the outcomes: the drift workflow says so instead of failing without them
    write_github_output("labelled", "true" if result["current"]["labelled"] else "false")
    write_github_output("retrain", "true" if result["retrain"] else "false")
    return 0  # drift is a finding, not a failure


def _collect(args: argparse.Namespace) -> int:
    from .model.params import load_params
    from .monitor.collect import collect

    params = load_params(args.params)
    logs = args.logs or params.serving.logs
    if not logs and args.if_configured:
        print("serving.logs is not set in params.yaml: no prediction log to collect")
        return 0
    if not logs:
        raise ProjectError("no prediction log: pass --logs, or set serving.logs in params.yaml")
    result = collect(
        params,
        logs,
        labels=args.labels or params.serving.outcomes,
        since=args.since,
        until=args.until,
        out=args.out,
    )
    if result.skipped_lines or result.duplicates:
        print(
            f"left out {result.skipped_lines} unfinished last lines and "
            f"{result.duplicates} rows logged twice"
        )
    if result.out is None:
        print(f"no logged rows in {logs} for that time: nothing written")
        return 0
    kind = "labelled" if result.labelled else "unlabelled"
    print(f"wrote {result.rows} {kind} rows to {result.out}")
    if not result.labelled and result.outcomes:
        print(
            f"{result.outcomes} of {result.rows} rows have their outcome: a file is labelled only "
            "when all do, so collect again with an earlier --until to keep them"
        )
    return 0


def _utc_time(text: str):
    import pandas as pd

    try:
        moment = pd.Timestamp(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"expected an ISO time, got {text!r}") from error
    return moment.tz_localize("UTC") if moment.tzinfo is None else moment.tz_convert("UTC")


def _retrain(args: argparse.Namespace) -> int:
    from .data import storage
    from .model.params import load_params
    from .monitor.retrain import RECORD_FILE, retrain

    params = load_params(args.params)
    current = args.current or params.incoming_location
    data, snapshot_file = params.train_path, params.data.train
    if storage.is_tracked(data):
        # DVC: the new snapshot is pushed and git gets its pointer; if anything fails the data,
        # the pointer and retrain.json are put back as they were
        kept = [data, storage.pointer_of(data), data.with_name(RECORD_FILE), args.params]
        with storage.restored_on_error(kept):
            record = retrain(params, current, drift_dir=args.drift, params_file=args.params)
            version = storage.record(data)
        snapshot_file = storage.pointer_of(snapshot_file)
        print(f"recorded {data.name} in DVC ({version.describe()}) and pushed it")
    else:
        record = retrain(params, current, drift_dir=args.drift, params_file=args.params)
    from .github_actions import write_github_output
    from .monitor.calibrated_params import calibration_markdown

    # the workflow commits exactly these files to the retraining pull request
    write_github_output("snapshot", str(snapshot_file))
    write_github_output("record", str(params.data.train.with_name("retrain.json")))
    write_github_output("params", str(args.params))
    calibration = calibration_markdown(record["calibration"])
    print(calibration, end="")
    if args.summary:
        args.summary.parent.mkdir(parents=True, exist_ok=True)
        args.summary.write_text(calibration, encoding="utf-8")
    snapshot = record["snapshot"]
    span = f"{snapshot['from']} to {snapshot['to']}; " if "from" in snapshot else ""
    print(
        f"wrote {snapshot['rows']} rows ({span}"
        f"{snapshot['rows_from_previous']} kept, {snapshot['rows_from_recent']} recent) "
        f"to {params.train_path}, and why to {params.train_path.with_name('retrain.json')}"
    )
    return 0


def _fetch(args: argparse.Namespace) -> int:
    from .data.storage import pull

    versions = pull(args.params.resolve().parent)
    if not versions:
        print("no DVC pointers (*.dvc): the data is in git, nothing to fetch")
    for version in versions:
        print(f"fetched {version.data.name}: {version.describe()} (verified)")
    return 0


def _champion(args: argparse.Namespace) -> int:
    from .review.champion import build_champion

    status = build_champion(args.base, args.out, params=args.params)
    if status.get("reused"):
        print(f"main's model for {status['commit'][:12]}: {status['reason']}, into {args.out}")
    elif status["status"] == "trained":
        where = " in main's locked environment" if status["environment"]["base_lock"] else ""
        print(f"trained main's model from {status['commit'][:12]} into {args.out}{where}")
    else:
        print(f"no champion ({status['status']}): {status['reason']}")
    return 0


def _compare(args: argparse.Namespace) -> int:
    from .data.dataset import sha256_of
    from .review.compare import compare
    from .review.report import Context, write_report

    if args.validation is not None and not args.validation.is_file():
        raise ProjectError(f"validation report not found: {args.validation}")
    context = Context(
        validation=args.validation.read_text(encoding="utf-8") if args.validation else None,
        lock_name=args.lock.name,
        lock_sha256=sha256_of(args.lock) if args.lock.is_file() else None,
    )
    if args.data is None:
        from .model.params import load_params

        args.data = load_params(args.params).train_path
    comparison = compare(args.champion, args.challenger, args.data)
    write_report(comparison, context, args.out, artifacts=args.artifacts)
    outcome = {"fail": "failed", "needs a look": "passed, needs a look", "pass": "passed"}
    print(f"wrote {args.out}: gate {outcome[comparison.state]}")
    for failure in [*comparison.failures, *comparison.looks]:
        print(f"  - {failure}")
    return 0 if comparison.passed else 1


def _comment(args: argparse.Namespace) -> int:
    from .review.comment import load_report, render_comment

    text = render_comment(load_report(args.report), run_url=args.run_url)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote the comment ({len(text):,} characters) to {args.out}")
    return 0


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
    data.set_defaults(handler=_data)

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
    adopt.set_defaults(handler=_adopt)

    fetch = commands.add_parser(
        "fetch", help="pull the DVC-tracked data (every *.dvc pointer), verified by md5"
    )
    fetch.add_argument("--params", type=Path, default=Path("params.yaml"))
    fetch.set_defaults(handler=_fetch)

    validate = commands.add_parser("validate", help="check a data file against the schema")
    validate.add_argument("path", type=Path, nargs="?", help="default: data.train in params")
    validate.add_argument("--markdown", type=Path, help="also write the report as markdown")
    validate.add_argument("--params", type=Path, default=Path("params.yaml"))
    validate.set_defaults(handler=_validate)

    train = commands.add_parser("train", help="fit the model described by params.yaml")
    train.add_argument("--out", type=Path, required=True, help="model directory to write")
    train.add_argument("--data", type=Path, help="training CSV (default: data.train in params)")
    train.add_argument("--params", type=Path, default=Path("params.yaml"))
    train.set_defaults(handler=_train)

    evaluate = commands.add_parser("evaluate", help="score a model on a CSV, overall and per slice")
    evaluate.add_argument("--model", type=Path, required=True, help="directory written by train")
    evaluate.add_argument("--data", type=Path, help="labelled data (default: data.train)")
    evaluate.add_argument("--params", type=Path, default=Path("params.yaml"))
    evaluate.add_argument("--json", type=Path, help="also write the metrics as JSON")
    evaluate.set_defaults(handler=_evaluate)


def _add_pull_request_commands(commands: argparse._SubParsersAction) -> None:
    """What the pr workflows run besides training: main's model, the comparison, the comment."""
    champion = commands.add_parser("champion", help="train main's model from the base commit")
    champion.add_argument("--base", required=True, help="git revision of the base (e.g. main)")
    champion.add_argument("--out", type=Path, required=True, help="model directory to write")
    champion.add_argument("--params", type=Path, default=Path("params.yaml"))
    champion.set_defaults(handler=_champion)

    compare = commands.add_parser("compare", help="champion vs challenger: the PR comment and gate")
    compare.add_argument("--champion", type=Path, required=True, help="written by champion")
    compare.add_argument("--challenger", type=Path, required=True, help="written by train")
    compare.add_argument("--data", type=Path, help="its holdout is scored (default: data.train)")
    compare.add_argument("--params", type=Path, default=Path("params.yaml"))
    compare.add_argument("--out", type=Path, required=True, help="markdown file to write")
    compare.add_argument("--validation", type=Path, help="markdown written by validate")
    compare.add_argument("--artifacts", type=Path, help="directory for report.md and report.json")
    compare.add_argument("--lock", type=Path, default=Path("uv.lock"), help="lock file to cite")
    compare.set_defaults(handler=_compare)

    comment = commands.add_parser(
        "comment", help="the PR comment from report.json (untrusted data), size-bounded"
    )
    comment.add_argument("--report", type=Path, required=True, help="report.json from compare")
    comment.add_argument("--out", type=Path, required=True, help="markdown file to write")
    comment.add_argument("--run-url", type=_run_url, help="the pr run, linked when truncated")
    comment.set_defaults(handler=_comment)


def _add_release_commands(commands: argparse._SubParsersAction) -> None:
    """Serving the merged model: batch predictions, the bento, the model card."""
    predict = commands.add_parser("predict", help="batch predictions for a CSV of model inputs")
    predict.add_argument("--model", type=Path, required=True, help="directory written by train")
    predict.add_argument("--input", type=Path, required=True, help="CSV of model inputs")
    predict.add_argument("--out", type=Path, required=True, help="CSV: inputs + predictions")
    predict.set_defaults(handler=_predict)

    bento = commands.add_parser("bento", help="save the model to BentoML and build its bento")
    bento.add_argument("--model", type=Path, required=True, help="directory written by train")
    bento.add_argument("--version", help="bento version (default: generated by BentoML)")
    bento.add_argument(
        "--base-image", help="the image's FROM (default: BentoML's python:<version>-slim)"
    )
    bento.set_defaults(handler=_bento)

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
    promote.set_defaults(handler=_promote)

    card = commands.add_parser("card", help="write the model card (markdown) for a release")
    card.add_argument("--model", type=Path, required=True, help="directory written by train")
    card.add_argument("--out", type=Path, required=True, help="markdown file to write")
    card.add_argument("--pr", type=_positive_int, help="number of the approving pull request")
    card.add_argument("--repo", type=_github_repo, help="OWNER/NAME, to link the pull request")
    card.set_defaults(handler=_card)


def _add_monitoring_commands(commands: argparse._SubParsersAction) -> None:
    """What the drift workflow runs: the served rows, the check, then the next training snapshot."""
    drift = commands.add_parser("drift", help="recent vs training data: drift, quality, decay")
    drift.add_argument("--reference", help="training data (default: data.train in params)")
    drift.add_argument("--current", help="CSV, folder or URL (default: data.incoming)")
    drift.add_argument("--out", type=Path, required=True, help="directory to write")
    drift.add_argument("--model", type=Path, help="model directory: its decay on labelled data")
    drift.add_argument("--params", type=Path, default=Path("params.yaml"))
    drift.set_defaults(handler=_drift)

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
    collect.set_defaults(handler=_collect)

    retrain = commands.add_parser("retrain", help="next training snapshot, with recent data")
    retrain.add_argument("--current", help="recent labelled data (default: data.incoming)")
    retrain.add_argument("--drift", type=Path, help="drift --out directory, recorded as the reason")
    retrain.add_argument("--params", type=Path, default=Path("params.yaml"))
    retrain.add_argument(
        "--summary", type=Path, help="write the recalibrated thresholds (markdown) here"
    )
    retrain.set_defaults(handler=_retrain)


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
