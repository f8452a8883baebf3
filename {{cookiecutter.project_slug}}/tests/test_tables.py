"""Tables are CSV or Parquet by suffix, read with a clear error and written all at once."""

from __future__ import annotations

import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.data.tables import read_table, write_table_atomically
from {{ cookiecutter.package_name }}.errors import ProjectError

FRAME = pd.DataFrame({"branch": ["north", "south"], "quantity": [3, 5], "cost": [1.5, None]})


@pytest.mark.parametrize("name", ["t.csv", "t.parquet", "t.pq", "T.CSV"])
def test_a_written_table_reads_back_equal(tmp_path, name):
    path = tmp_path / "sub" / name
    write_table_atomically(FRAME, path)
    pd.testing.assert_frame_equal(read_table(path), FRAME)
    assert [p.name for p in path.parent.iterdir()] == [name]  # no temp file left beside it


def test_a_failed_write_leaves_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "t.csv"
    path.write_text("old\n1\n", encoding="utf-8")

    def broken(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", broken)
    with pytest.raises(OSError, match="disk full"):
        write_table_atomically(FRAME, path)
    assert path.read_text(encoding="utf-8") == "old\n1\n"
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.csv", None, "data file not found"),
        ("empty.csv", b"", "is empty"),
        ("empty.parquet", b"", "is empty"),
        ("bad.csv", b'a,b\n"1,2\n', "not a readable CSV file"),
        ("latin.csv", "a\nd\xe9j\xe0\n".encode("latin-1"), "is not UTF-8 text"),
        ("semicolons.csv", b"a;b\n1;2\n", "separated by ';'; save it with commas"),
        ("bad.parquet", b"this is not parquet", "not a readable Parquet file"),
        ("table.xlsx", b"PK", "unknown table format '.xlsx'"),
    ],
)
def test_unreadable_files_are_project_errors(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ProjectError, match=message):
        read_table(path)
