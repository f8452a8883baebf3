"""Serving throughput and latency of the built bento over loopback, against in-process predict."""

from __future__ import annotations

import http.client
import json
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from common import PACKAGE, project_env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(project: Path, tag: str, env: dict[str, str]) -> tuple[subprocess.Popen, int]:
    port = free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("bentoml")),
            "serve",
            tag,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=project,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/readyz")
            if connection.getresponse().status == 200:
                return server, port
        except OSError:
            time.sleep(0.5)
    server.terminate()
    raise RuntimeError("the bento did not become ready within 120 s")


def load(port: int, body: bytes, requests: int, workers: int) -> dict[str, float]:
    """Send a bounded number of identical requests; latency percentiles and throughput."""

    def worker(count: int) -> list[float]:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        latencies = []
        for _ in range(count):
            started = time.perf_counter()
            connection.request("POST", "/predict", body, {"Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"/predict answered {response.status}")
            latencies.append(time.perf_counter() - started)
        return latencies

    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        shares = [requests // workers] * workers
        latencies = [x for part in pool.map(worker, shares) for x in part]
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "requests_per_second": round(len(latencies) / elapsed, 1),
        "p50_ms": round(1000 * statistics.median(latencies), 2),
        "p99_ms": round(1000 * latencies[int(0.99 * (len(latencies) - 1))], 2),
    }


def rows_of(project: Path, count: int) -> list[dict]:
    import pandas as pd

    frame = pd.read_csv(project / "data" / "train.csv").head(count)
    features = ["store", "category", "price", "promotion", "temperature", "fuel_price"]
    return frame[features].to_dict(orient="records")


def in_process_rows_per_second(project: Path, rows: list[dict], repeats: int = 200) -> float:
    code = (
        "import sys, json, time, pandas as pd\n"
        f"from {PACKAGE}.artifacts import load_model\n"
        "model = load_model('models/bench'); frame = pd.DataFrame(json.loads(sys.argv[1]))\n"
        "model.predict(frame); started = time.perf_counter()\n"
        f"for _ in range({repeats}): model.predict(pd.DataFrame(json.loads(sys.argv[1])))\n"
        f"print(len(frame) * {repeats} / (time.perf_counter() - started))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, json.dumps(rows)],
        cwd=project,
        env=project_env(project),
        capture_output=True,
        text=True,
        check=True,
    )
    return float(done.stdout.strip())


def measure(project: Path, bentoml_home: Path) -> dict[str, object]:
    env = {**project_env(project), "BENTOML_HOME": str(bentoml_home)}
    subprocess.run(
        [sys.executable, "-m", PACKAGE, "train", "--out", "models/bench"],
        cwd=project,
        env=env,
        check=True,
        capture_output=True,
    )
    built = subprocess.run(
        [sys.executable, "-m", PACKAGE, "bento", "--model", "models/bench"],
        cwd=project,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    tag = built.stdout.strip().splitlines()[-1].split()[-1]
    server, port = start_server(project, tag, env)
    try:
        results = {}
        # 1 client measures latency alone; 4 clients share this machine's 2 cores with the server.
        for label, size, requests, workers in (
            ("1_row_1_client", 1, 300, 1),
            ("1_row", 1, 400, 4),
            ("100_row", 100, 200, 4),
        ):
            rows = rows_of(project, size)
            served = load(port, json.dumps({"rows": rows}).encode(), requests, workers=workers)
            in_process = in_process_rows_per_second(project, rows)
            served_rows = served["requests_per_second"] * size
            results[label] = {
                **served,
                "served_rows_per_second": round(served_rows, 1),
                "in_process_rows_per_second": round(in_process, 1),
                "ratio_to_in_process": round(served_rows / in_process, 3),
            }
        return results
    finally:
        server.terminate()
        server.wait(timeout=30)
