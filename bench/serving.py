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
        env={**env, "PWD": str(project)},  # the prediction log goes under the served folder
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


class Client:
    """One keep-alive connection that counts a failed call instead of raising."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def post(self, body: bytes) -> tuple[float, str | None]:
        """(seconds, None) for a 200; (seconds, what went wrong) otherwise."""
        started = time.perf_counter()
        try:
            self.connection.request("POST", "/predict", body, {"Content-Type": "application/json"})
            response = self.connection.getresponse()
            response.read()
            error = None if response.status == 200 else str(response.status)
        except (OSError, http.client.HTTPException) as failure:
            error = type(failure).__name__
            self.connection.close()  # reconnect on the next call
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        return time.perf_counter() - started, error


def summary(calls: list[tuple[float, str | None]], elapsed: float) -> dict[str, object]:
    """Throughput of answered requests, their latency percentiles, and the errors by kind."""
    latencies = sorted(seconds for seconds, error in calls if error is None)
    errors: dict[str, int] = {}
    for _, error in calls:
        if error is not None:
            errors[error] = errors.get(error, 0) + 1
    answered = len(latencies)
    return {
        "answered": answered,
        "requests_per_second": round(answered / elapsed, 1),
        "p50_ms": round(1000 * statistics.median(latencies), 2) if latencies else None,
        "p99_ms": round(1000 * latencies[int(0.99 * (answered - 1))], 2) if latencies else None,
        "error_rate": round(sum(errors.values()) / len(calls), 4),
        "errors": errors,
    }


def load(port: int, body: bytes, requests: int, workers: int) -> dict[str, object]:
    """Closed loop: `workers` clients, each sending its next request when answered."""

    def worker(count: int) -> list[tuple[float, str | None]]:
        client = Client(port)
        return [client.post(body) for _ in range(count)]

    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        calls = [x for part in pool.map(worker, [requests // workers] * workers) for x in part]
    return summary(calls, time.perf_counter() - started)


def offered_load(port: int, body: bytes, rate: float, seconds: float) -> dict[str, object]:
    """Open loop: requests start at `rate` per second whether or not earlier ones are answered.

    A closed loop slows down with the server and so never overloads it; an open loop shows what
    happens when traffic arrives faster than the service answers (queueing, then 503s).
    """
    total = int(rate * seconds)
    first = time.perf_counter() + 0.1
    clients = 32

    def worker(index: int) -> list[tuple[float, str | None]]:
        client, calls = Client(port), []
        for number in range(index, total, clients):
            delay = first + number / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            calls.append(client.post(body))
        return calls

    with ThreadPoolExecutor(clients) as pool:
        calls = [x for part in pool.map(worker, range(clients)) for x in part]
    return {"offered_per_second": round(rate, 1), **summary(calls, time.perf_counter() - first)}


def rows_of(project: Path, count: int) -> list[dict]:
    import pandas as pd

    frame = pd.read_csv(project / "data" / "train.csv").head(count)
    features = ["store", "category", "price", "promotion", "temperature", "fuel_price"]
    return frame[features].to_dict(orient="records")


def in_process_rows_per_second(project: Path, rows: list[dict], repeats: int = 200) -> float:
    code = (
        "import sys, json, time, pandas as pd\n"
        f"from {PACKAGE}.model.artifacts import load_model\n"
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


def measure(
    project: Path, bentoml_home: Path, rounds: int = 3, quick: bool = False
) -> dict[str, object]:
    """Served rows/s with the prediction log on and off, and the service under 1x and 2x load.

    Both servers run at once and the measurements alternate between them, `rounds` times, so
    that whatever else the machine does weighs on both alike; each figure is the median round.
    """
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
    log_dir = project / "logs" / "bench"
    servers = {
        "log_off": start_server(project, tag, {**env, "PREDICTION_LOG_DIR": "off"}),
        "log_on": start_server(project, tag, {**env, "PREDICTION_LOG_DIR": str(log_dir)}),
    }
    try:
        results, answered_rows = {}, 0
        # 1 client measures latency alone; 4 clients share this machine's 2 cores with the server.
        share = 3 if quick else 1  # --quick: a third of the requests
        for label, size, requests, workers in (
            ("1_row_1_client", 1, 300 // share, 1),
            ("1_row", 1, 400 // share, 4),
            ("100_row", 100, 240 // share, 4),
        ):
            rows = rows_of(project, size)
            body = json.dumps({"rows": rows}).encode()
            runs = {name: [] for name in servers}
            for _ in range(rounds):
                for name, (_, port) in servers.items():
                    runs[name].append(load(port, body, requests, workers=workers))
            answered_rows += size * sum(run["answered"] for run in runs["log_on"])
            served = {name: median_run(measured) for name, measured in runs.items()}
            in_process = in_process_rows_per_second(project, rows)
            on, off = (served[name]["requests_per_second"] * size for name in ("log_on", "log_off"))
            results[label] = {
                **served["log_on"],
                "served_rows_per_second": round(on, 1),
                "served_rows_per_second_log_off": round(off, 1),
                "logging_cost": round(1 - on / off, 3) if off else None,  # None: none answered
                "in_process_rows_per_second": round(in_process, 1),
                "ratio_to_in_process": round(on / in_process, 3),
            }
        # every answered row logged once: the log's own check under this load
        logged = sum(1 for file in log_dir.glob("*.jsonl") for _ in file.open())
        results["log_records"] = {"answered_rows": answered_rows, "records": logged}
        # under load, logging on: the rate 4 clients sustain with 1-row requests, then twice it
        sustained = results["1_row"]["requests_per_second"]
        body = json.dumps({"rows": rows_of(project, 1)}).encode()
        port = servers["log_on"][1]
        results["offered_load"] = {
            f"{factor}x": offered_load(port, body, factor * sustained, seconds=5 / share)
            for factor in (1, 2)
        }
        return results
    finally:
        for server, _ in servers.values():
            server.terminate()
            server.wait(timeout=30)


def median_run(runs: list[dict[str, object]]) -> dict[str, object]:
    """The run with the median throughput (its latencies and errors with it)."""
    return sorted(runs, key=lambda run: run["requests_per_second"])[len(runs) // 2]
