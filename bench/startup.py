"""Start-up cost: `--help`, and which heavy libraries each subcommand imports."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from common import PACKAGE, median_run, project_env, run

HEAVY = ("pandas", "sklearn", "pandera", "bentoml", "evidently", "scipy")
# Runs a subcommand with the given arguments, then reports which heavy libraries it imported.
PROBE = (
    "import json, sys, runpy\n"
    "sys.argv = [{package!r}] + json.loads(sys.argv[1])\n"
    "code = 0\n"
    "try:\n"
    "    runpy.run_module({package!r}, run_name='__main__')\n"
    "except SystemExit as stop:\n"
    "    code = stop.code\n"
    "heavy = sorted(m for m in {heavy!r} if m in sys.modules)\n"
    "print(json.dumps([code, heavy]), file=sys.stderr)\n"
)


def help_seconds(project: Path, repeats: int) -> float:
    runs = [
        run([sys.executable, "-m", PACKAGE, "--help"], project, project_env(project))
        for _ in range(repeats)
    ]
    return round(median_run(runs).seconds, 3)


def subcommand_imports(project: Path, argv: list[str]) -> dict[str, object]:
    import subprocess
    import time

    code = PROBE.format(package=PACKAGE, heavy=HEAVY)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, json.dumps(argv)],
        cwd=project,
        env=project_env(project),
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    exit_code, imported = json.loads(done.stderr.strip().splitlines()[-1])
    return {"seconds": round(seconds, 2), "exit_code": exit_code, "heavy_imports": imported}
