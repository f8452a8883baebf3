"""Run the benchmark suite against a freshly baked project; print a table and write JSON.

Usage: python bench/run.py [--quick] [--only pr_pipeline,startup,drift,serving,install,dvc]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import data_storage
import drift
import install
import pr_pipeline
import serving
import startup
from common import TEMPLATE, bake

RESULTS = TEMPLATE / "bench" / "results"
SUBCOMMANDS_ON_TINY_DATA = {
    "data": ["data", "--rows", "480", "--out", "bench-data/tiny.csv"],
    "validate": ["validate", "bench-data/tiny.csv"],
    "train": ["train", "--data", "bench-data/tiny.csv", "--out", "models/tiny"],
    "evaluate": ["evaluate", "--model", "models/tiny", "--data", "bench-data/tiny.csv"],
    "predict": [
        "predict",
        "--model",
        "models/tiny",
        "--input",
        "bench-data/tiny.csv",
        "--out",
        "bench-data/tiny-predictions.csv",
    ],
    "drift": [
        "drift",
        "--reference",
        "bench-data/tiny.csv",
        "--current",
        "bench-data/tiny.csv",
        "--out",
        "reports/tiny-drift",
    ],
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, one repeat")
    parser.add_argument("--only", help="comma-separated sections to run")
    parser.add_argument("--rows", type=int, nargs="+", help="PR pipeline and drift sizes instead")
    parser.add_argument("--repeats", type=int, help="PR pipeline repeats instead")
    args = parser.parse_args()
    sections = (
        set(args.only.split(","))
        if args.only
        else {"startup", "pr_pipeline", "drift", "serving", "install", "dvc"}
    )
    pipeline_rows = [10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000]
    drift_rows = [100_000] if args.quick else [100_000, 1_000_000]
    repeats = 1 if args.quick else 3
    if args.rows:
        pipeline_rows = drift_rows = args.rows
    repeats = args.repeats or repeats
    work = Path(tempfile.mkdtemp(prefix="bench-"))
    project = bake(work)
    report: dict[str, object] = {
        "machine": f"{platform.machine()}, {platform.python_version()}",
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    if "startup" in sections:
        report["startup"] = {
            "help_seconds": startup.help_seconds(project, 5),
            "subcommands": {
                name: startup.subcommand_imports(project, argv)
                for name, argv in SUBCOMMANDS_ON_TINY_DATA.items()
            },
        }
    if "pr_pipeline" in sections:
        report["pr_pipeline"] = [
            pr_pipeline.measure(project, rows, repeats) for rows in pipeline_rows
        ]
    if "drift" in sections:
        report["drift"] = [drift.measure(project, rows) for rows in drift_rows]
    if "serving" in sections:
        report["serving"] = serving.measure(project, work / "bentoml", quick=args.quick)
    if "install" in sections:
        report["install"] = install.measure(project)
    if "dvc" in sections:
        # data in git vs DVC after ten retraining PRs, and what `dvc pull` adds to a PR check
        report["dvc"] = data_storage.measure(rows=100_000 if args.quick else 1_000_000)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(render(report))
    print(f"\nwritten: {out}")
    return 0


def render(report: dict) -> str:
    lines = [f"machine: {report['machine']}"]
    if "startup" in report:
        lines += [
            "",
            f"start-up: --help {report['startup']['help_seconds']} s (target < 0.5 s)",
            "  subcommand   seconds  exit  heavy imports",
        ]
        for name, row in report["startup"]["subcommands"].items():
            lines.append(
                f"  {name:<12}{row['seconds']:>8}{row['exit_code']!s:>6}  "
                f"{', '.join(row['heavy_imports'])}"
            )
    if "pr_pipeline" in report:
        lines += [
            "",
            "PR pipeline   rows  seconds  floor s  ratio  warm s  warm ratio  1-fit floor s"
            "  warm/1-fit  peak MB  frame MB  mem/frame  side by side MB  mem/frame",
        ]
        for r in report["pr_pipeline"]:
            lines.append(
                f"  {r['rows']:>14,}{r['seconds']:>9}{r['floor_seconds']:>9}"
                f"{r['time_ratio']:>7}{r['warm_seconds']:>8}{r['warm_time_ratio']:>12}"
                f"{r['floor_one_fit_seconds']:>15}{r['warm_ratio_to_one_fit']:>12}"
                f"{r['peak_rss_mb']:>9}{r['frame_mb']:>10}{r['memory_ratio_to_frame']:>11}"
                f"{r['side_by_side_peak_mb']:>17}{r['side_by_side_memory_ratio']:>11}"
            )
    if "drift" in report:
        lines += ["", "drift         rows  seconds  scipy s  ratio  evidently share"]
        for r in report["drift"]:
            lines.append(
                f"  {r['rows']:>14,}{r['seconds']:>9}{r['floor_seconds']:>9}"
                f"{r['time_ratio']:>7}  {r['evidently_share']}"
            )
    if "serving" in report:
        serving_report = report["serving"]
        lines += [
            "",
            "serving (log on) req/s   p50 ms   p99 ms   rows/s  log off rows/s  cost"
            "   in-process rows/s   ratio   errors",
        ]
        for size in ("1_row_1_client", "1_row", "100_row"):
            r = serving_report[size]
            lines.append(
                f"  {size:<15}{r['requests_per_second']:>7}{r['p50_ms']!s:>9}{r['p99_ms']!s:>9}"
                f"{r['served_rows_per_second']:>9}{r['served_rows_per_second_log_off']:>16}"
                f"{r['logging_cost']!s:>6}{r['in_process_rows_per_second']:>20}"
                f"{r['ratio_to_in_process']:>8}{r['error_rate']:>9}"
            )
        logged = serving_report["log_records"]
        lines.append(f"  log: {logged['records']} records for {logged['answered_rows']} rows")
        lines += ["", "offered load     offered/s   req/s   p50 ms   p99 ms   errors"]
        for factor, r in serving_report["offered_load"].items():
            lines.append(
                f"  {factor:<15}{r['offered_per_second']:>9}{r['requests_per_second']:>8}"
                f"{r['p50_ms']!s:>9}{r['p99_ms']!s:>9}  {r['error_rate']} {r['errors']}"
            )
    if "install" in report:
        lines += ["", "install   uv s (warm)   pip s (warm)   env MB"]
        for workflow, r in report["install"].items():
            lines.append(
                f"  {workflow:<8}{r.get('uv_seconds')!s:>12}{r.get('pip_seconds')!s:>15}"
                f"{r['env_mb']:>9}"
            )
    if "dvc" in report:
        r = report["dvc"]
        lines += [
            "",
            f"data storage  {r['retraining_prs']} retraining PRs of {r['rows']:,} rows "
            f"({r['csv_mb']} MB CSV)",
            f"  .git MB: data in git {r['dot_git_mb']['data_in_git']}, "
            f"in DVC {r['dot_git_mb']['data_in_dvc']} (remote {r['dvc_remote_mb']} MB)",
            f"  dvc pull s: head {r['pull_head_s']}, base {r['pull_base_s']}, "
            f"again from cache {r['pull_again_from_cache_s']}",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
