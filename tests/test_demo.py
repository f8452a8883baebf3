"""`make demo`'s script bakes the default project and runs its loop, printing the metrics."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import TEMPLATE


@pytest.mark.slow
def test_the_demo_bakes_and_runs_the_loop(tmp_path):
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    done = subprocess.run(
        ["bash", str(TEMPLATE / "scripts" / "demo.sh"), str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert f"Baked the default project into: {tmp_path}/demand-forecast" in done.stdout
    assert '"wape":' in done.stdout and "store=village" in done.stdout
    assert "**Drift: yes**" in done.stdout and "`fuel_price`" in done.stdout
    assert "## ✅ Better: wape" in done.stdout and "gate passed" in done.stdout
    assert "Serve the released model:" in done.stdout
    assert (tmp_path / "demand-forecast" / "models" / "champion" / "metrics.json").is_file()
