"""infer_contract proposes a schema and column roles for any table, and says why."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest
from sklearn import datasets

from {{ cookiecutter.package_name }}.adopt.infer import infer_contract
from {{ cookiecutter.package_name }}.errors import ProjectError

PARAMS_KEYS = {"task", "target", "features", "key", "slices", "split", "gate", "drift", "model"}


def bundled(loader) -> pd.DataFrame:
    """A scikit-learn data set that ships inside the package, with its label as `target`."""
    return loader(as_frame=True).frame


def shop(rows: int = 240, seed: int = 0) -> pd.DataFrame:
    """A small table with one column of every kind the rules tell apart."""
    rng = np.random.default_rng(seed)
    branch = rng.choice(["north", "south", "east"], rows)
    cost = rng.uniform(0.5, 9.0, rows).round(2)
    units = rng.poisson(20, rows) + (branch == "north") * 5
    frame = pd.DataFrame(
        {
            "order_id": [f"o-{i:05d}" for i in range(rows)],
            "row": np.arange(rows),
            "sold_on": pd.date_range("2024-01-01", periods=rows, freq="D").strftime("%Y-%m-%d"),
            "branch": branch,
            "region": rng.choice(list("abcde"), rows),
            "weekday": rng.integers(1, 8, rows),
            "on_offer": rng.random(rows) < 0.3,
            "cost": cost,
            "outdoor_temp": rng.normal(5, 8, rows).round(1),
            "review": [f"customer {i} wrote a long comment about the product" for i in range(rows)],
            "country": "nl",
            "quantity": units.astype(float),
            "quantity_copy": units.astype(float),
        }
    )
    frame.loc[::17, "cost"] = np.nan
    return frame


def validated(schema: pa.DataFrameSchema, frame: pd.DataFrame) -> pd.DataFrame:
    """Validate through the YAML round trip, as every stage will read the schema file."""
    return pa.DataFrameSchema.from_yaml(schema.to_yaml()).validate(frame, lazy=True)


def all_features(inference) -> list[str]:
    return [name for names in inference.params["features"].values() for name in names]


def column_yaml(inference, name: str) -> dict:
    import yaml

    return yaml.safe_load(inference.schema_yaml)["columns"][name]


# --- tasks, metrics and classes -----------------------------------------------------------------


def test_a_numeric_target_with_many_values_is_regression_scored_by_mae():
    inference = infer_contract(bundled(datasets.load_diabetes), "target")
    params = inference.params
    assert set(params) == PARAMS_KEYS
    assert params["task"] == "regression"
    assert inference.classes is None
    assert len(params["features"]["numeric"]) == 10
    assert params["gate"]["primary_metric"] == params["drift"]["decay_metric"] == "mae"
    assert params["gate"]["beat_baseline"] is True  # the training median: the bar to clear
    assert "absolute_min" not in params["gate"] and "absolute_max" not in params["gate"]
    assert column_yaml(inference, "target")["dtype"] == "float64"
    assert any(decision.startswith("Task: regression") for decision in inference.decisions)


@pytest.mark.parametrize(
    ("loader", "classes"),
    [
        (datasets.load_iris, [0, 1, 2]),
        (datasets.load_wine, [0, 1, 2]),
        (datasets.load_breast_cancer, [0, 1]),
    ],
)
def test_few_whole_number_labels_are_classes_and_the_bar_is_the_class_frequencies(loader, classes):
    inference = infer_contract(bundled(loader), "target")
    assert inference.params["task"] == "classification"
    assert inference.classes == classes
    assert inference.params["gate"]["primary_metric"] == "log_loss"
    assert inference.params["gate"]["beat_baseline"] is True
    assert any("the training class frequencies" in d for d in inference.decisions)
    assert column_yaml(inference, "target")["isin"] == classes
    assert inference.params["model"]["target_transform"] == "none"


@pytest.mark.parametrize(
    "loader",
    [
        datasets.load_diabetes,
        datasets.load_iris,
        datasets.load_wine,
        datasets.load_breast_cancer,
    ],
)
def test_the_schema_accepts_the_table_it_was_inferred_from(loader):
    frame = bundled(loader)
    validated(infer_contract(frame, "target").schema, frame)


def test_string_labels_are_classes_and_an_unknown_label_is_invalid():
    frame = shop()
    frame["demand"] = np.where(frame["quantity"] > 20, "high", "low")
    inference = infer_contract(frame.drop(columns=["quantity_copy"]), "demand")
    assert inference.params["task"] == "classification"
    assert inference.classes == ["high", "low"]
    assert column_yaml(inference, "demand")["dtype"] == "str"
    with pytest.raises(pa.errors.SchemaErrors):
        validated(inference.schema, frame.assign(demand="medium"))


def test_an_explicit_task_wins_over_the_rule():
    frame = bundled(datasets.load_iris)
    inference = infer_contract(frame, "target", task="regression")
    assert inference.params["task"] == "regression"
    assert any("as asked" in decision for decision in inference.decisions)


def test_a_skewed_non_negative_target_is_fitted_on_log1p():
    frame = shop()
    frame["revenue"] = np.random.default_rng(1).lognormal(3, 1.2, len(frame))
    inference = infer_contract(frame.drop(columns=["quantity_copy"]), "revenue")
    assert inference.params["model"]["target_transform"] == "log1p"
    assert column_yaml(inference, "revenue")["greater_than_or_equal_to"] == 0


# --- column roles --------------------------------------------------------------------------------


def test_each_kind_of_column_gets_its_role_and_each_exclusion_its_reason():
    inference = infer_contract(shop(), "quantity")
    features = inference.params["features"]
    assert features["categorical"] == ["branch", "region", "weekday", "on_offer"]
    assert features["numeric"] == ["cost", "outdoor_temp"]
    assert features["datetime"] == ["sold_on"]
    text = "\n".join(inference.decisions)
    assert "Left out 'order_id', 'row': an identifier" in text
    assert "Left out 'review': free text" in text
    assert "Left out 'country': constant" in text
    assert "Left out 'quantity_copy': leakage suspect" in text
    assert "--time-column sold_on" in text  # a date column is offered as the time to split by


def test_a_one_to_one_recoding_of_the_target_is_a_leakage_suspect():
    frame = bundled(datasets.load_iris)
    frame["species"] = frame["target"].map({0: "setosa", 1: "versicolor", 2: "virginica"})
    frame["scaled"] = frame["sepal length (cm)"] * 10  # related to the target, not a recoding
    inference = infer_contract(frame, "target")
    assert "species" not in all_features(inference)
    assert "scaled" in inference.params["features"]["numeric"]
    assert any("'species': leakage suspect" in d for d in inference.decisions)


def test_a_monotone_recoding_of_a_numeric_target_is_a_leakage_suspect():
    frame = bundled(datasets.load_diabetes)
    frame["log_target"] = np.log(frame["target"])
    inference = infer_contract(frame, "target")
    assert "log_target" not in inference.params["features"]["numeric"]


def test_measurements_that_happen_to_be_distinct_are_not_identifiers():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {"area": rng.choice(np.arange(10_000, 90_000), 100, replace=False), "y": rng.random(100)}
    )
    assert infer_contract(frame, "y").params["features"]["numeric"] == ["area"]


def test_the_time_key_and_groups_are_not_features():
    frame = shop()
    inference = infer_contract(
        frame, "quantity", time_column="sold_on", key=["order_id"], group_by=["region"]
    )
    assert {"sold_on", "order_id", "region"}.isdisjoint(all_features(inference))
    assert inference.params["key"] == ["order_id"]
    assert inference.params["split"] == {
        "holdout_fraction": 0.2,
        "time_column": "sold_on",
        "group_by": ["region"],
    }
    assert any("newest 20%" in decision for decision in inference.decisions)
    assert column_yaml(inference, "sold_on")["dtype"] == "datetime64[ns]"
    # retraining keeps as long a history as the table has (the first and last day included)
    sold_on = pd.to_datetime(frame["sold_on"])
    days = (sold_on.max() - sold_on.min()).days + 1
    assert inference.params["retrain"] == {"window_days": days}


def test_without_a_time_column_retraining_is_left_as_it_was():
    assert "retrain" not in infer_contract(shop(), "quantity").params


def test_slices_are_up_to_two_small_categorical_features_unless_given():
    inference = infer_contract(shop(), "quantity")
    assert inference.params["slices"] == ["branch", "region"]
    assert infer_contract(shop(), "quantity", slices=["weekday"]).params["slices"] == ["weekday"]
    assert infer_contract(shop(), "quantity", slices=[]).params["slices"] == []


# --- the schema is widened, so that new data is not an error for being new ---------------------


def test_new_values_near_the_seen_ones_pass():
    frame = shop()
    inference = infer_contract(frame, "quantity")
    new = frame.head(3).assign(
        cost=15.0,  # above the maximum seen (9), within twice the range above it
        outdoor_temp=-40.0,  # below the minimum seen
        sold_on="2031-05-05",  # after the last day seen: dates have no bounds
        quantity=0.0,
    )
    validated(inference.schema, new)


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("cost", 1000.0),  # far above twice the range above the maximum
        ("cost", -1.0),  # a column never negative in the data has 0 as its floor
        ("outdoor_temp", 900.0),
        ("branch", "west"),  # three branches, each seen about 80 times: a closed set
        ("weekday", 9),  # a code of seven values
    ],
)
def test_values_the_data_makes_impossible_are_refused(column, value):
    inference = infer_contract(shop(), "quantity")
    bad = shop().head(3).astype({column: object})
    bad.loc[1, column] = value
    with pytest.raises(pa.errors.SchemaErrors) as raised:
        validated(inference.schema, bad)
    assert set(raised.value.failure_cases["column"]) == {column}


def test_a_large_set_of_categories_stays_open_to_unseen_values():
    frame = shop(rows=300).assign(shelf=[f"shelf {i % 40}" for i in range(300)])
    inference = infer_contract(frame, "quantity")
    assert "shelf" in inference.params["features"]["categorical"]
    assert column_yaml(inference, "shelf") == {"dtype": "str"}
    validated(inference.schema, frame.head(3).assign(shelf="a new shelf"))


def test_numeric_ranges_are_the_seen_range_widened_by_twice_its_width_and_rounded_outward():
    frame = shop()
    inference = infer_contract(frame, "quantity")
    temp = frame["outdoor_temp"]
    width = temp.max() - temp.min()
    bounds = column_yaml(inference, "outdoor_temp")["in_range"]
    assert temp.min() - 2 * width >= bounds["min_value"] > temp.min() - 2.01 * width
    assert temp.max() + 2 * width <= bounds["max_value"] < temp.max() + 2.01 * width


def test_a_numeric_feature_never_negative_has_zero_as_its_floor():
    inference = infer_contract(shop(), "quantity")
    cost = column_yaml(inference, "cost")
    assert cost["in_range"]["min_value"] == 0
    assert column_yaml(inference, "outdoor_temp")["in_range"]["min_value"] < 0


def test_missing_values_make_a_column_nullable_and_booleans_stay_booleans():
    frame = shop()
    frame["on_offer"] = frame["on_offer"].astype(object)
    frame.loc[::5, "on_offer"] = None
    inference = infer_contract(frame, "quantity")
    assert column_yaml(inference, "on_offer") == {"dtype": "boolean", "nullable": True}
    assert column_yaml(inference, "branch") == {"dtype": "str", "isin": ["east", "north", "south"]}
    assert "on_offer" in inference.params["features"]["categorical"]
    validated(inference.schema, frame)


def test_time_zones_categories_and_nullable_integers_survive_the_yaml_round_trip():
    rows = 100
    frame = pd.DataFrame(
        {
            "utc": pd.Series(pd.date_range("2024-01-01", periods=rows, freq="h", tz="UTC"))
            .dt.strftime("%Y-%m-%dT%H:%M:%S%z")
            .astype(object),
            "offsets": [f"2024-01-01T00:00:00+0{i % 3}:00" for i in range(rows)],
            "shelf": pd.Categorical(np.resize(["top", "middle", "bottom"], rows)),
            "stock": pd.array([None if i % 10 == 0 else i % 7 for i in range(rows)], dtype="Int64"),
            "y": np.random.default_rng(2).random(rows),
        }
    )
    inference = infer_contract(frame, "y")
    assert column_yaml(inference, "utc")["dtype"] == "datetime64[ns, UTC]"
    assert column_yaml(inference, "offsets")["dtype"] == "datetime64[ns, UTC]"
    assert column_yaml(inference, "shelf") == {"dtype": "str", "isin": ["bottom", "middle", "top"]}
    assert column_yaml(inference, "stock")["dtype"] == "Int64"
    assert inference.params["features"]["datetime"] == ["utc", "offsets"]
    validated(inference.schema, frame)


def test_the_schema_has_no_index_and_coerces():
    import yaml

    raw = yaml.safe_load(infer_contract(shop(), "quantity").schema_yaml)
    assert "index" not in raw or raw["index"] is None
    assert raw["coerce"] is True


def test_drift_defaults_match_the_params_shape():
    drift = infer_contract(shop(), "quantity").params["drift"]
    assert drift == {
        "share": 0.1,
        "numeric": {"method": "wasserstein", "threshold": 0.1},
        "categorical": {"method": "jensenshannon", "threshold": 0.1},
        "columns": {},
        "decay_metric": "mae",
        "decay_tolerance": 0.25,
        "decay_confidence": 0.9,
        "sample_rows": 100_000,
    }


# --- bad input: one clear sentence each ----------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "kwargs", "message"),
    [
        (shop(), {"target": "sales"}, "target column 'sales' not found; the columns are"),
        (shop().head(0), {"target": "quantity"}, "no rows"),
        (shop().assign(quantity=3.0), {"target": "quantity"}, "one value in every row"),
        (
            shop().assign(quantity=1),
            {"target": "quantity", "task": "classification"},
            "one class in every row",
        ),
        (shop(), {"target": "branch", "task": "regression"}, "needs a numeric target"),
        (shop()[["row", "quantity"]], {"target": "quantity"}, "no usable feature.*identifier"),
        (
            shop().assign(label=["rare", *["common", "usual"] * 119, "usual"]),
            {"target": "label"},
            r"classes with a single row \(1\): rare;",
        ),
        (shop(), {"target": "quantity", "time_column": "when"}, "time column 'when' not found"),
        (shop(), {"target": "quantity", "key": ["id"]}, "key column 'id' not found"),
        (shop(), {"target": "quantity", "slices": ["shop"]}, "slice column 'shop' not found"),
        (shop(), {"target": "quantity", "group_by": ["g"]}, "group_by column 'g' not found"),
        (shop(), {"target": "quantity", "time_column": "branch"}, "does not parse as dates"),
        (shop(), {"target": "quantity", "key": ["branch"]}, "does not identify a row"),
        (shop(), {"target": "quantity", "task": "ranking"}, "task must be one of"),
        (
            shop().assign(quantity=lambda f: f["quantity"].where(f.index > 0)),
            {"target": "quantity"},
            "empty in 1 of 240 rows: fill them, or pass --drop-missing-target",
        ),
    ],
)
def test_bad_input_is_a_project_error_that_says_what_is_wrong(frame, kwargs, message):
    with pytest.raises(ProjectError, match=message):
        infer_contract(frame, **kwargs)


def test_the_inference_is_pure():
    frame = shop()
    before = frame.copy()
    infer_contract(frame, "quantity", time_column="sold_on")
    pd.testing.assert_frame_equal(frame, before)
