"""Git vs DVC for the training data: repository size after ten retraining PRs, and what
`dvc pull` adds to a pull request's check. Offline: the DVC remote is a local folder.

Usage: python bench/data_storage.py [--rows 1000000] [--versions 10] [--out bench/results/dvc.json]

Ten retraining PRs are simulated as the demo's retrain does it: each new snapshot drops the
oldest rows and appends recent ones (a window sliding by --shift rows), so consecutive versions
share most of their lines, which is the case most favourable to git's delta compression.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from common import PACKAGE, TEMPLATE

ENV = {
    **os.environ,
    "DVC_NO_ANALYTICS": "1",
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}


def run(cwd: Path, *command: str) -> str:
    done = subprocess.run(command, cwd=cwd, env=ENV, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def dvc(cwd: Path, *args: str) -> str:
    return run(cwd, sys.executable, "-m", "dvc", *args)


def timed(cwd: Path, *command: str) -> float:
    started = time.perf_counter()
    run(cwd, *command)
    return round(time.perf_counter() - started, 2)


def du_mb(path: Path) -> float:
    total = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return round(total / 1e6, 3)


def pack_mb(repo: Path) -> float:
    """git count-objects -v after `git gc`: loose + packed object bytes, in MB."""
    run(repo, "git", "gc", "--quiet")
    stats = dict(line.split(": ") for line in run(repo, "git", "count-objects", "-v").splitlines())
    return round((int(stats["size"]) + int(stats["size-pack"])) * 1024 / 1e6, 3)


def versions(scratch: Path, rows: int, count: int, shift: int) -> list[bytes]:
    """`count` + 1 snapshots of `rows` rows, each the previous one slid forward by `shift`."""
    project = scratch / "gen"
    subprocess.run(
        [sys.executable, "-m", "cookiecutter", "--no-input", "-o", str(project), str(TEMPLATE)],
        check=True,
        capture_output=True,
    )
    project = project / "demand-forecast"
    table = scratch / "all.csv"
    total = rows + count * shift
    command = [sys.executable, "-m", PACKAGE, "data", "--rows", str(total), "--out", str(table)]
    subprocess.run(
        command, cwd=project, env={**ENV, "PYTHONPATH": str(project / "src")}, check=True
    )
    header, *lines = table.read_bytes().splitlines(keepends=True)
    return [header + b"".join(lines[k * shift : k * shift + rows]) for k in range(count + 1)]


def history(repo: Path, snapshots: list[bytes], use_dvc: bool, store: Path) -> None:
    """The baked snapshot, then one commit per retraining PR (data in git, or its pointer)."""
    repo.mkdir()
    run(repo, "git", "init", "-q", "-b", "main")
    (repo / "data").mkdir()
    if use_dvc:
        dvc(repo, "init", "-q")
        dvc(repo, "remote", "add", "-d", "storage", str(store))
    for number, content in enumerate(snapshots):
        (repo / "data" / "train.csv").write_bytes(content)
        if use_dvc:
            dvc(repo, "add", "-q", "data/train.csv")
            dvc(repo, "push", "-q")
        run(repo, "git", "add", "-A")
        run(repo, "git", "commit", "-q", "-m", f"data version {number}")


def pull_times(repo: Path, scratch: Path) -> dict[str, float]:
    """A PR check's extra work: HEAD's data, then the base's (champion) through the shared cache."""
    clone = scratch / "clone"
    run(scratch, "git", "clone", "-q", str(repo), str(clone))
    head = timed(clone, sys.executable, "-m", "dvc", "pull", "-q", "data/train.csv.dvc")
    tree = scratch / "base"
    run(clone, "git", "worktree", "add", "-q", "--detach", str(tree), "HEAD^1")
    (tree / ".dvc" / "config.local").write_text(f"[cache]\n    dir = {clone / '.dvc' / 'cache'}\n")
    base = timed(tree, sys.executable, "-m", "dvc", "pull", "-q", "data/train.csv.dvc")
    (clone / "data" / "train.csv").unlink()
    cached = timed(clone, sys.executable, "-m", "dvc", "pull", "-q", "data/train.csv.dvc")
    return {"pull_head_s": head, "pull_base_s": base, "pull_again_from_cache_s": cached}


def measure(rows: int = 1_000_000, count: int = 10, shift: int = 24 * 7 * 4) -> dict:
    """Repository sizes after `count` retraining PRs, git against DVC, and the pulls' times."""
    with tempfile.TemporaryDirectory(prefix="bench-dvc-") as name:
        scratch = Path(name)
        started = time.perf_counter()
        snapshots = versions(scratch, rows, count, shift)
        size = len(snapshots[0]) / 1e6
        print(f"{len(snapshots)} snapshots of {rows:,} rows, {size:.1f} MB each")
        store = scratch / "store"
        history(scratch / "in-git", snapshots, use_dvc=False, store=store)
        history(scratch / "in-dvc", snapshots, use_dvc=True, store=store)
        return {
            "rows": rows,
            "retraining_prs": count,
            "rows_replaced_per_pr": shift,
            "csv_mb": round(len(snapshots[-1]) / 1e6, 1),
            "git_objects_after_gc_mb": {
                "data_in_git": pack_mb(scratch / "in-git"),
                "data_in_dvc": pack_mb(scratch / "in-dvc"),
            },
            "dot_git_mb": {
                "data_in_git": du_mb(scratch / "in-git" / ".git"),
                "data_in_dvc": du_mb(scratch / "in-dvc" / ".git"),
            },
            "dvc_remote_mb": du_mb(store),
            **pull_times(scratch / "in-dvc", scratch),
            "seconds": round(time.perf_counter() - started, 1),
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--versions", type=int, default=10, help="retraining PRs")
    parser.add_argument("--shift", type=int, default=24 * 7 * 4, help="rows replaced per PR")
    parser.add_argument("--out", type=Path, default=TEMPLATE / "bench" / "results" / "dvc.json")
    args = parser.parse_args()
    result = measure(args.rows, args.versions, args.shift)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
