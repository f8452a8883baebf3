"""PR pipeline cost (validate, train, rebuild champion, compare) against a bare fit-twice floor."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from common import PACKAGE, cli, median_run, run

FLOOR = Path(__file__).with_name("floor_pipeline.py")
CACHE_VARIABLE = f"{PACKAGE.upper()}_CACHE_DIR"  # the project's validation cache


def commit_data(project: Path, rows: int) -> None:
    """Make the project a git repo whose main holds `rows` rows of training data."""
    cli(project, "data", "--rows", str(rows), "--seed", "0", "--out", "data/train.csv")
    if not (project / ".git").exists():
        subprocess.run(["git", "init", "-q", "-b", "main"], cwd=project, check=True)
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com"]
    subprocess.run(["git", "add", "-A"], cwd=project, check=True)
    subprocess.run(
        [*git, "commit", "-q", "--allow-empty", "-m", f"{rows} rows"], cwd=project, check=True
    )


def pipeline_once(project: Path) -> dict[str, object]:
    """The PR check's steps, as one fresh CI job runs them: with an empty validation cache."""
    with tempfile.TemporaryDirectory() as cache:
        env = {CACHE_VARIABLE: cache}
        return {
            "validate": cli(
                project, "validate", "data/train.csv", "--markdown", "reports/v.md", env=env
            ),
            "train": cli(project, "train", "--out", "models/challenger", env=env),
            "champion": cli(
                project, "champion", "--base", "HEAD", "--out", "models/champion", env=env
            ),
            "compare": cli(
                project,
                "compare",
                "--champion",
                "models/champion",
                "--challenger",
                "models/challenger",
                "--data",
                "data/train.csv",
                "--out",
                "reports/comment.md",
                ok=(0, 1),
                env=env,
            ),
        }


def frame_megabytes(path: Path) -> float:
    import pandas as pd

    return pd.read_csv(path, parse_dates=["date"]).memory_usage(deep=True).sum() / 2**20


def measure(project: Path, rows: int, repeats: int) -> dict[str, object]:
    commit_data(project, rows)
    pipelines = [pipeline_once(project) for _ in range(repeats)]
    floors = [run([sys.executable, str(FLOOR), "data/train.csv"], project) for _ in range(repeats)]
    steps = {name: median_run([p[name] for p in pipelines]) for name in pipelines[0]}
    total = sum(step.seconds for step in steps.values())
    peak = max(step.peak_rss_mb for step in steps.values())
    floor = median_run(floors)
    frame = frame_megabytes(project / "data" / "train.csv")
    return {
        "rows": rows,
        "seconds": round(total, 2),
        "floor_seconds": round(floor.seconds, 2),
        "time_ratio": round(total / floor.seconds, 2),
        "steps_seconds": {name: round(step.seconds, 2) for name, step in steps.items()},
        "peak_rss_mb": round(peak, 1),
        "floor_peak_rss_mb": round(floor.peak_rss_mb, 1),
        "frame_mb": round(frame, 1),
        "memory_ratio_to_frame": round(peak / frame, 2),
    }
