"""The one command line that people, tests and workflows share: `python -m {{ cookiecutter.package_name }}`.

Only argparse is imported here; each subcommand imports its heavy libraries when it runs, so
`--help` answers at once.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from .errors import ProjectError


def _data(args: argparse.Namespace) -> int:
    from .data import generate, write_csv

    frame = generate(args.scenario, rows=args.rows, seed=args.seed, start=args.start)
    write_csv(frame, args.out)
    first, last = frame["date"].min().date(), frame["date"].max().date()
    print(f"wrote {len(frame)} rows ({args.scenario}, {first} to {last}) to {args.out}")
    return 0


def _validate(args: argparse.Namespace) -> int:
    from .schemas import DemandRecords
    from .validation import read_csv, validate_frame

    _, report = validate_frame(read_csv(args.path), DemandRecords, source=str(args.path))
    print(report.as_text())
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(report.as_markdown() + "\n", encoding="utf-8")
    return 0 if report.valid else 1


def _train(args: argparse.Namespace) -> int:
    from .params import load_params
    from .train import train

    result = train(load_params(args.params), args.out, data=args.data)
    print(
        f"trained {result.run['params']['model']['name']} ({result.run['params']['task']}), "
        f"wrote {result.out}"
    )
    print(json.dumps(result.metrics, indent=2, sort_keys=True))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from .evaluate import evaluate, format_table

    evaluation = evaluate(args.model, args.data)
    print(format_table(evaluation))
    if args.json:
        from .artifacts import write_json
        from .metrics import json_safe

        write_json(
            args.json,
            {
                "rows": evaluation.rows,
                "overall": json_safe(evaluation.overall),
                "slices": [json_safe(row) for row in evaluation.slices],
            },
        )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="{{ cookiecutter.project_slug }}",
        description="Demand model: data, validation, training and evaluation.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    data = commands.add_parser("data", help="write the demo data set (deterministic)")
    data.add_argument("--scenario", choices=("baseline", "fuel-shock"), default="baseline")
    data.add_argument("--rows", type=_positive_int, default=8760)
    data.add_argument("--seed", type=int, default=0)
    data.add_argument("--start", help="first date, YYYY-MM-DD (default: by scenario)")
    data.add_argument("--out", type=Path, required=True, help="CSV file to write")
    data.set_defaults(handler=_data)

    validate = commands.add_parser("validate", help="check a CSV against the schema")
    validate.add_argument("path", type=Path)
    validate.add_argument("--markdown", type=Path, help="also write the report as markdown")
    validate.set_defaults(handler=_validate)

    train = commands.add_parser("train", help="fit the model described by params.yaml")
    train.add_argument("--out", type=Path, required=True, help="model directory to write")
    train.add_argument("--data", type=Path, help="training CSV (default: data.train in params)")
    train.add_argument("--params", type=Path, default=Path("params.yaml"))
    train.set_defaults(handler=_train)

    evaluate = commands.add_parser("evaluate", help="score a model on a CSV, overall and per slice")
    evaluate.add_argument("--model", type=Path, required=True, help="directory written by train")
    evaluate.add_argument("--data", type=Path, required=True)
    evaluate.add_argument("--json", type=Path, help="also write the metrics as JSON")
    evaluate.set_defaults(handler=_evaluate)
    return parser


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
