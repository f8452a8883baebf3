"""PR pipeline cost (validate, train, rebuild champion, compare) against a bare fit-twice floor."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import PACKAGE, Run, cli, cli_command, finish, median_run, run, start

FLOOR = Path(__file__).with_name("floor_pipeline.py")
CACHE_VARIABLE = f"{PACKAGE.upper()}_CACHE_DIR"  # the project's caches (validated, champions)


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


def pipeline_once(project: Path, kept: Path | None = None) -> dict[str, Run]:
    """The PR check's steps, as one fresh CI job runs them: with empty caches, or (`kept`) with
    main's model restored into the champions cache, as pr.yml restores what champion.yml kept."""
    with tempfile.TemporaryDirectory() as cache:
        if kept is not None:
            shutil.copytree(kept, Path(cache) / "champions")
        env = {CACHE_VARIABLE: cache}
        output = Path(cache) / "github-output"
        validate = cli(
            project,
            "validate",
            "data/train.csv",
            "--markdown",
            "reports/v.md",
            env={**env, "GITHUB_OUTPUT": str(output)},
        )
        table_bytes = int(output.read_text().split("table_bytes=")[1].split()[0])
        return {
            "validate": validate,
            "fit": fit_step(project, env, kept is not None, table_bytes),
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


def fit_step(project: Path, env: dict[str, str], kept: bool, table_bytes: int) -> Run:
    """pr.yml's fit step, as it decides: when main's model must be trained and memory allows
    two fits, champion and challenger side by side on half the cores each; else one after the
    other on every core. Its peak memory is the sum of the two when they run together."""
    cores = len(os.sched_getaffinity(0))
    both = 2 * (300 * 2**20 + 2 * table_bytes)
    beside = not kept and both < available_memory()
    threads = max(1, cores // 2) if beside else cores
    env = {**env, "OMP_NUM_THREADS": str(threads)}
    champion = cli_command(
        project, "champion", "--base", "HEAD", "--out", "models/champion", env=env
    )
    train = cli_command(project, "train", "--out", "models/challenger", env=env)
    started = time.perf_counter()
    if not beside:
        peaks = [finish(start(*champion)), finish(start(*train))]
        return Run(time.perf_counter() - started, max(peaks))
    processes = [start(*champion), start(*train)]
    peaks = [finish(process) for process in processes]
    return Run(time.perf_counter() - started, sum(peaks), max(peaks))


def available_memory() -> int:
    with open("/proc/meminfo", encoding="utf-8") as meminfo:
        line = next(line for line in meminfo if line.startswith("MemAvailable:"))
    return int(line.split()[1]) * 1024


def keep_main(project: Path, into: Path) -> Path:
    """What champion.yml does on a push to main: train main's model once and keep it."""
    cli(
        project,
        "champion",
        "--base",
        "HEAD",
        "--out",
        str(into / "model"),
        env={CACHE_VARIABLE: str(into)},
    )
    return into / "champions"


def summed(pipelines: list[dict[str, Run]]) -> tuple[float, Run, dict[str, float]]:
    """Median seconds of the whole (sum of the steps' medians), the pipeline's peaks (as one Run
    over its steps), each step's median."""
    steps = {name: median_run([p[name] for p in pipelines]) for name in pipelines[0]}
    whole = median_run(list(steps.values()))  # max of each peak; its seconds are not used
    total = sum(step.seconds for step in steps.values())
    return total, whole, {name: round(step.seconds, 2) for name, step in steps.items()}


def frame_megabytes(path: Path) -> float:
    import pandas as pd

    return pd.read_csv(path, parse_dates=["date"]).memory_usage(deep=True).sum() / 2**20


def measure(project: Path, rows: int, repeats: int) -> dict[str, object]:
    commit_data(project, rows)
    cold = [pipeline_once(project) for _ in range(repeats)]
    with tempfile.TemporaryDirectory() as main_cache:
        kept = keep_main(project, Path(main_cache))
        warm = [pipeline_once(project, kept) for _ in range(repeats)]
    floors = [run([sys.executable, str(FLOOR), "data/train.csv"], project) for _ in range(repeats)]
    floors_one_fit = [
        run([sys.executable, str(FLOOR), "data/train.csv", "1"], project) for _ in range(repeats)
    ]
    total, peak, steps = summed(cold)
    warm_total, _, warm_steps = summed(warm)
    floor, floor_one_fit = median_run(floors), median_run(floors_one_fit)
    frame = frame_megabytes(project / "data" / "train.csv")
    return {
        "rows": rows,
        "seconds": round(total, 2),
        "floor_seconds": round(floor.seconds, 2),
        "time_ratio": round(total / floor.seconds, 2),
        "steps_seconds": steps,
        # main's model restored from the champion cache (every PR into a commit champion.yml
        # ran for, and every later run of a PR): the champion step copies instead of training
        "warm_seconds": round(warm_total, 2),
        "warm_time_ratio": round(warm_total / floor.seconds, 2),
        # like for like: a floor that fits only the challenger, as the warm pipeline does
        "floor_one_fit_seconds": round(floor_one_fit.seconds, 2),
        "warm_ratio_to_one_fit": round(warm_total / floor_one_fit.seconds, 2),
        "warm_steps_seconds": warm_steps,
        # one process at a time: what the pipeline needs (pr.yml runs the fits one after the
        # other when the runner lacks memory for two); side by side: the two fits' sum
        "peak_rss_mb": round(peak.one_at_a_time_mb, 1),
        "side_by_side_peak_mb": round(peak.peak_rss_mb, 1),
        "floor_peak_rss_mb": round(floor.peak_rss_mb, 1),
        "frame_mb": round(frame, 1),
        "memory_ratio_to_frame": round(peak.one_at_a_time_mb / frame, 2),
        "side_by_side_memory_ratio": round(peak.peak_rss_mb / frame, 2),
    }
