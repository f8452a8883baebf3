"""What each subcommand does, given its parsed arguments; cli.py says what it accepts.

Only the standard library is imported here; each command imports its stage, and the stage its
heavy libraries, when it runs, so that `--help` answers at once. Each returns the exit code.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

from .errors import ProjectError


def run_data(args: argparse.Namespace) -> int:
    from .demo import write_demo

    print(write_demo(args.scenario, rows=args.rows, seed=args.seed, start=args.start, out=args.out))
    return 0


def run_validate(args: argparse.Namespace) -> int:
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


def run_adopt(args: argparse.Namespace) -> int:
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


def run_train(args: argparse.Namespace) -> int:
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


def run_evaluate(args: argparse.Namespace) -> int:
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


def run_predict(args: argparse.Namespace) -> int:
    from .serve.predict import predict_file

    written = predict_file(args.model, args.input, args.out)
    print(f"wrote {len(written)} predictions to {args.out}")
    return 0


def run_bento(args: argparse.Namespace) -> int:
    from .github_actions import write_github_output
    from .serve.bento import build_bento

    tag = build_bento(args.model, version=args.version, base_image=args.base_image)
    write_github_output("tag", tag)
    print(tag)  # last line of stdout: scripts read the tag from here
    return 0


def run_promote(args: argparse.Namespace) -> int:
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


def run_card(args: argparse.Namespace) -> int:
    from .serve.card import model_card

    text = model_card(args.model, pr=args.pr, repo=args.repo)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote the model card to {args.out}")
    return 0


def run_drift(args: argparse.Namespace) -> int:
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


def run_collect(args: argparse.Namespace) -> int:
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


def run_retrain(args: argparse.Namespace) -> int:
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


def run_fetch(args: argparse.Namespace) -> int:
    from .data.storage import pull

    versions = pull(args.params.resolve().parent)
    if not versions:
        print("no DVC pointers (*.dvc): the data is in git, nothing to fetch")
    for version in versions:
        print(f"fetched {version.data.name}: {version.describe()} (verified)")
    return 0


def run_champion(args: argparse.Namespace) -> int:
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


def run_compare(args: argparse.Namespace) -> int:
    from .data.dataset import sha256_of
    from .review.compare import compare
    from .review.publish import write_report
    from .review.report import Context

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


def run_comment(args: argparse.Namespace) -> int:
    from .review.comment import load_report, render_comment

    text = render_comment(load_report(args.report), run_url=args.run_url)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote the comment ({len(text):,} characters) to {args.out}")
    return 0
