"""The validation cache: a hit is exactly what validating again gives; anything else is a miss."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pandera.pandas as pa
import pytest

from {{ cookiecutter.package_name }}.caches import ENVIRONMENT_VARIABLE
from {{ cookiecutter.package_name }}.cli import main
from {{ cookiecutter.package_name }}.data import validation_cache
from {{ cookiecutter.package_name }}.data.tables import read_table, write_table
from {{ cookiecutter.package_name }}.data.validation import validate_frame

from conftest import CONTRACT, numeric_feature, out_of_range, require


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, str(tmp_path / "cache"))
    return tmp_path / "cache" / "validated"


@pytest.fixture
def no_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    """Validating from here on fails the test: what comes back must come from the cache."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("validated again instead of using the cache")

    monkeypatch.setattr(validation_cache, "validate_frame", refuse)


def entries(folder: Path) -> list[Path]:
    return sorted(folder.glob(f"*{validation_cache.SUFFIX}"))


def fresh(path: Path) -> pd.DataFrame:
    frame, report = validate_frame(read_table(path), CONTRACT.records, source=str(path))
    assert report.valid
    return frame


def test_a_hit_gives_exactly_the_frame_validation_gives(cache: Path, sample_file: Path) -> None:
    first, report = validation_cache.read_validated(sample_file, CONTRACT.records)
    assert report.valid and len(entries(cache)) == 1
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(validation_cache, "validate_frame", None)  # a miss would now crash
        second, report = validation_cache.read_validated(sample_file, CONTRACT.records)
    assert report.valid and report.rows == len(second)
    expected = fresh(sample_file)
    for frame in (first, second):
        pd.testing.assert_frame_equal(frame, expected, check_exact=True)
        # NaN and None are both "missing" to assert_frame_equal, not to every encoder
        for name in frame.select_dtypes(include="object").columns:
            assert [type(v) for v in frame[name]] == [type(v) for v in expected[name]], name


def test_other_bytes_are_a_miss(cache: Path, sample_file: Path, tmp_path: Path) -> None:
    validation_cache.read_validated(sample_file, CONTRACT.records)
    changed = write_table(read_table(sample_file).iloc[1:], tmp_path / f"less{sample_file.suffix}")
    frame, _ = validation_cache.read_validated(changed, CONTRACT.records)
    assert len(frame) == len(read_table(sample_file)) - 1
    assert len(entries(cache)) == 2


def test_another_schema_is_a_miss(cache: Path, sample_file: Path) -> None:
    """A stricter contract must see the file again: a stale hit would let bad rows through."""
    column = require(numeric_feature(), "numeric feature")
    validation_cache.read_validated(sample_file, CONTRACT.records)
    smallest = float(read_table(sample_file)[column].min())
    stricter = CONTRACT.records.update_column(column, checks=[pa.Check.less_than(smallest)])
    assert validation_cache._key(sample_file, stricter) is not None, "no key: the test is void"
    _, report = validation_cache.read_validated(sample_file, stricter)
    assert not report.valid and column in report.as_text()


def test_invalid_files_are_never_cached(cache: Path, sample_file: Path, tmp_path: Path) -> None:
    column, bad, _ = require(out_of_range(), "bounded feature")
    frame = read_table(sample_file)
    frame[column] = frame[column].astype(object)
    frame.loc[0, column] = bad
    broken = write_table(frame, tmp_path / f"broken{sample_file.suffix}")
    for _ in range(2):
        _, report = validation_cache.read_validated(broken, CONTRACT.records)
        assert not report.valid and column in report.as_text()
    assert entries(cache) == []


def test_a_corrupt_entry_is_a_miss_and_is_replaced(cache: Path, sample_file: Path) -> None:
    validation_cache.read_validated(sample_file, CONTRACT.records)
    (entry,) = entries(cache)
    entry.write_bytes(b"not a pickle")
    frame, report = validation_cache.read_validated(sample_file, CONTRACT.records)
    assert report.valid
    pd.testing.assert_frame_equal(frame, fresh(sample_file), check_exact=True)
    assert entries(cache) == [entry] and entry.read_bytes() != b"not a pickle"


def test_off_turns_it_off(sample_file: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "off")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert validation_cache.cache_dir() is None
    _, report = validation_cache.read_validated(sample_file, CONTRACT.records)
    assert report.valid and list(tmp_path.iterdir()) == []


def test_only_the_newest_entries_are_kept(cache: Path, sample_file: Path, tmp_path: Path):
    frame = read_table(sample_file)
    kept = validation_cache.ENTRIES_KEPT
    for count in range(kept + 2):
        part = write_table(frame.iloc[count:], tmp_path / f"part{count}{sample_file.suffix}")
        validation_cache.read_validated(part, CONTRACT.records)
    assert len(entries(cache)) == kept


def test_an_unwritable_cache_is_not_an_error(
    sample_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file-not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, str(blocker / "cache"))
    frame, report = validation_cache.read_validated(sample_file, CONTRACT.records)
    assert report.valid
    pd.testing.assert_frame_equal(frame, fresh(sample_file), check_exact=True)


def test_validate_then_train_reads_the_training_file_once(
    cache: Path, params_file: Path, sample_file: Path, tmp_path: Path, no_validation: None
) -> None:
    """What `validate` leaves, `train` finds: the PR check validates each file once."""
    with pytest.MonkeyPatch.context() as undo:
        undo.setattr(validation_cache, "validate_frame", validate_frame)
        assert main(["validate", str(sample_file), "--params", str(params_file)]) == 0
    assert len(entries(cache)) == 1
    assert main(["train", "--out", str(tmp_path / "model"), "--params", str(params_file)]) == 0
