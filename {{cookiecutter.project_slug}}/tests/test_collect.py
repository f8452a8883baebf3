"""`collect`: the service's prediction log, with outcomes that arrived, becomes recent data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.cli import main
from {{ cookiecutter.package_name }}.data.incoming import load_table
from {{ cookiecutter.package_name }}.serve.prediction_log import PredictionLog

from conftest import CONTRACT, PARAMS, write_params

TARGET = PARAMS.target
INPUTS = list(CONTRACT.unlabelled.columns)  # what a client sends: features, time and key
VERSION = {"model": "model:1", "git_commit": "abc123"}


def client_rows(records: pd.DataFrame) -> list[dict]:
    """Rows as a JSON client sends them (ISO dates), without the outcome."""
    return json.loads(records[INPUTS].to_json(orient="records", date_format="iso"))


def serve_log(log_dir: Path, records: pd.DataFrame, per_request: int = 3) -> list[str]:
    """Log `records` as the service does, `per_request` rows a request; return the request ids."""
    log, rows, ids = PredictionLog(log_dir, VERSION), client_rows(records), []
    for start in range(0, len(rows), per_request):
        batch = rows[start : start + per_request]
        ids.append(f"request-{start}")
        log.write(ids[-1], batch, [{"prediction": 0.0}] * len(batch))
    return ids


def collect(params_file: Path, *args: str) -> int:
    return main(["collect", "--params", str(params_file), *args])


@pytest.fixture
def logged(tmp_path, records):
    """60 records served in 20 requests; the log folder and the records themselves."""
    served = records.tail(60).reset_index(drop=True)
    serve_log(tmp_path / "logs", served)
    return tmp_path / "logs", served


@pytest.fixture
def params_file(tmp_path, sample_file):
    return write_params(tmp_path, sample_file, data__incoming=str(tmp_path / "incoming"))


def test_every_logged_row_becomes_one_unlabelled_row_under_data_incoming(
    params_file, logged, tmp_path, capsys
):
    logs, served = logged
    assert collect(params_file, "--logs", str(logs)) == 0
    out = tmp_path / "incoming" / "collected-0001.csv"
    assert f"wrote 60 unlabelled rows to {out}" in capsys.readouterr().out
    table = load_table(out, CONTRACT)  # what `drift` reads, validated
    assert not table.labelled and len(table.frame) == len(served)
    for column in PARAMS.features.all:
        got, sent = table.frame[column], served[column]
        if pd.api.types.is_float_dtype(sent):
            # a client's JSON carries 10 decimals (pandas' to_json): the log keeps what was sent
            got, sent = got.astype(float), sent.astype(float)
            np.testing.assert_allclose(got, sent, rtol=1e-9, err_msg=column)
        else:
            assert values(got) == values(sent), column


def values(column: pd.Series) -> list:
    """The column's values with every missing one as None (a NaN never equals another NaN)."""
    return [None if pd.isna(value) else value for value in column.tolist()]


def test_a_second_collect_writes_the_next_file_and_never_overwrites(params_file, logged, tmp_path):
    logs, _ = logged
    assert collect(params_file, "--logs", str(logs)) == 0
    assert collect(params_file, "--logs", str(logs)) == 0
    assert sorted(p.name for p in (tmp_path / "incoming").iterdir()) == [
        "collected-0001.csv",
        "collected-0002.csv",
    ]
    assert (
        collect(
            params_file,
            "--logs",
            str(logs),
            "--out",
            str(tmp_path / "incoming" / "collected-0001.csv"),
        )
        == 1
    )


def test_outcomes_joined_by_request_id_make_a_labelled_file(params_file, logged, tmp_path):
    logs, served = logged
    log_lines = [json.loads(line) for f in logs.glob("*.jsonl") for line in f.open()]
    outcomes = pd.DataFrame(
        {
            "request_id": [record["request_id"] for record in log_lines],
            "row": [record["row"] for record in log_lines],
        }
    )
    others = [c for c in CONTRACT.schema.columns if c not in INPUTS]  # the target and the like
    for column in others:
        outcomes[column] = served[column].to_numpy()
    outcomes.to_csv(tmp_path / "outcomes.csv", index=False)
    out = tmp_path / "labelled.csv"
    assert (
        collect(
            params_file,
            "--logs",
            str(logs),
            "--labels",
            str(tmp_path / "outcomes.csv"),
            "--out",
            str(out),
        )
        == 0
    )
    table = load_table(out, CONTRACT)
    assert table.labelled
    assert table.frame[TARGET].tolist() == served[TARGET].tolist()


@pytest.mark.skipif(not PARAMS.key, reason="the contract names no key to join outcomes by")
def test_outcomes_joined_by_the_key_make_a_labelled_file(params_file, logged, tmp_path):
    logs, served = logged
    others = [c for c in CONTRACT.schema.columns if c not in INPUTS]
    outcomes = served[[*PARAMS.key, *others]].sample(frac=1, random_state=0)  # any order
    outcomes.to_csv(tmp_path / "outcomes.csv", index=False)
    out = tmp_path / "labelled.csv"
    assert (
        collect(
            params_file,
            "--logs",
            str(logs),
            "--labels",
            str(tmp_path / "outcomes.csv"),
            "--out",
            str(out),
        )
        == 0
    )
    table = load_table(out, CONTRACT)
    assert table.labelled
    assert table.frame[TARGET].tolist() == served[TARGET].tolist()


@pytest.mark.skipif(not PARAMS.key, reason="the contract names no key to join outcomes by")
def test_rows_still_waiting_for_their_outcome_leave_the_file_unlabelled(
    params_file, logged, tmp_path, capsys
):
    logs, served = logged
    others = [c for c in CONTRACT.schema.columns if c not in INPUTS]
    served[[*PARAMS.key, *others]].head(40).to_csv(tmp_path / "outcomes.csv", index=False)
    out = tmp_path / "partial.csv"
    assert (
        collect(
            params_file,
            "--logs",
            str(logs),
            "--labels",
            str(tmp_path / "outcomes.csv"),
            "--out",
            str(out),
        )
        == 0
    )
    assert "40 of 60 rows have their outcome" in capsys.readouterr().out
    table = load_table(out, CONTRACT)
    assert not table.labelled and len(table.frame) == 60


def test_since_and_until_keep_the_rows_served_in_between(params_file, tmp_path, records):
    logs = tmp_path / "logs"
    serve_log(logs, records.head(6))
    lines = (next(logs.glob("*.jsonl"))).read_text().splitlines()
    # three requests an hour apart: rewrite their times as a log of three hours
    times = ["2030-01-01T10:00:00+00:00", "2030-01-01T11:00:00+00:00"]
    rewritten = [
        json.dumps({**json.loads(line), "time": times[index // 3]})
        for index, line in enumerate(lines)
    ]
    next(logs.glob("*.jsonl")).write_text("\n".join(rewritten) + "\n")
    out = tmp_path / "window.csv"
    assert (
        collect(
            params_file,
            "--logs",
            str(logs),
            "--since",
            "2030-01-01T10:30",
            "--until",
            "2030-01-01T12:00",
            "--out",
            str(out),
        )
        == 0
    )
    assert len(pd.read_csv(out)) == 3
    assert (
        collect(
            params_file,
            "--logs",
            str(logs),
            "--since",
            "2031-01-01",
            "--out",
            str(tmp_path / "none.csv"),
        )
        == 0
    )
    assert not (tmp_path / "none.csv").exists()


def test_a_line_still_being_written_is_left_for_next_time(params_file, logged, tmp_path, capsys):
    logs, _ = logged
    with next(logs.glob("*.jsonl")).open("a") as handle:
        handle.write('{"request_id": "late", "row": 0, "ti')  # no newline yet
    assert collect(params_file, "--logs", str(logs), "--out", str(tmp_path / "out.csv")) == 0
    assert "left out 1 unfinished last lines" in capsys.readouterr().out
    assert len(pd.read_csv(tmp_path / "out.csv")) == 60


def test_a_log_copied_twice_gives_each_row_once(params_file, logged, tmp_path):
    logs, _ = logged
    (original,) = logs.glob("*.jsonl")
    (logs / "shipped-again").mkdir()
    (logs / "shipped-again" / original.name).write_text(original.read_text())
    assert collect(params_file, "--logs", str(logs), "--out", str(tmp_path / "out.csv")) == 0
    assert len(pd.read_csv(tmp_path / "out.csv")) == 60


def test_a_corrupt_line_is_named_and_nothing_is_written(params_file, logged, tmp_path, capsys):
    logs, _ = logged
    (original,) = logs.glob("*.jsonl")
    original.write_text("not json\n" + original.read_text())
    assert collect(params_file, "--logs", str(logs), "--out", str(tmp_path / "out.csv")) == 1
    assert f"{original}:1 is not a JSON record" in capsys.readouterr().err
    assert not (tmp_path / "out.csv").exists()


def test_logged_rows_that_break_the_contract_are_refused_with_the_reason(
    params_file, tmp_path, records, capsys
):
    rows = client_rows(records.head(2))
    column = PARAMS.features.all[0]
    rows[1][column] = None if CONTRACT.schema.columns[column].nullable is False else rows[1][column]
    if rows[1][column] is not None:
        pytest.skip(f"{column} is nullable: no value of it breaks the contract for sure")
    PredictionLog(tmp_path / "logs", VERSION).write("r", rows, [{}, {}])
    assert (
        collect(params_file, "--logs", str(tmp_path / "logs"), "--out", str(tmp_path / "out.csv"))
        == 1
    )
    assert column in capsys.readouterr().err
    assert not (tmp_path / "out.csv").exists()


def test_a_client_without_the_time_column_gets_the_time_it_was_answered(
    params_file, tmp_path, records
):
    if not CONTRACT.time_column:
        pytest.skip("the contract has no time column")
    rows = [
        {k: v for k, v in row.items() if k != CONTRACT.time_column}
        for row in client_rows(records.head(2))
    ]
    PredictionLog(tmp_path / "logs", VERSION).write("r", rows, [{}, {}])
    assert (
        collect(params_file, "--logs", str(tmp_path / "logs"), "--out", str(tmp_path / "out.csv"))
        == 0
    )
    answered = pd.to_datetime(pd.read_csv(tmp_path / "out.csv")[CONTRACT.time_column])
    assert (
        abs(answered - pd.Timestamp.now(tz="UTC").tz_localize(None)) < pd.Timedelta(minutes=5)
    ).all()


def test_without_a_log_location_collect_says_what_to_pass(params_file, capsys):
    assert collect(params_file) == 1
    assert "pass --logs, or set serving.logs" in capsys.readouterr().err
    # the drift workflow's step: collect only when params.yaml says where the logs are
    assert collect(params_file, "--if-configured") == 0
    assert "serving.logs is not set" in capsys.readouterr().out


def test_the_log_location_and_outcomes_can_come_from_params(tmp_path, sample_file, logged):
    logs, served = logged
    others = [c for c in CONTRACT.schema.columns if c not in INPUTS]
    log_lines = [json.loads(line) for f in logs.glob("*.jsonl") for line in f.open()]
    outcomes = served[others].assign(
        request_id=[r["request_id"] for r in log_lines], row=[r["row"] for r in log_lines]
    )
    outcomes.to_parquet(tmp_path / "outcomes.parquet")
    params_file = write_params(
        tmp_path,
        sample_file,
        data__incoming=str(tmp_path / "incoming"),
        serving__logs=str(logs),
        serving__outcomes=str(tmp_path / "outcomes.parquet"),
    )
    assert collect(params_file, "--if-configured") == 0
    assert load_table(tmp_path / "incoming" / "collected-0001.csv", CONTRACT).labelled


def test_collected_rows_pass_validate_and_drift(params_file, logged, tmp_path, sample_file):
    logs, _ = logged
    assert collect(params_file, "--logs", str(logs)) == 0
    incoming = tmp_path / "incoming"
    assert (
        main(["validate", str(incoming / "collected-0001.csv"), "--params", str(params_file)]) == 0
    )
    out = tmp_path / "drift"
    assert main(["drift", "--params", str(params_file), "--out", str(out)]) == 0
    result = json.loads((out / "drift.json").read_text())
    assert result["current"]["rows"] == 60
