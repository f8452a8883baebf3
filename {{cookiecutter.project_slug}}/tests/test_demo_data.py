"""The demo data set: deterministic, valid, and telling the fuel-shock story."""

import pytest

from {{ cookiecutter.package_name }}.data.validation import validate_frame
from {{ cookiecutter.package_name }}.demo import generate, write_csv

from conftest import CONTRACT, PROJECT


def test_same_arguments_give_identical_data():
    assert generate("baseline", rows=500, seed=3).equals(generate("baseline", rows=500, seed=3))


def test_another_seed_gives_other_data():
    assert not generate("baseline", rows=500, seed=3).equals(generate("baseline", rows=500, seed=4))


def test_it_returns_exactly_the_rows_asked_for_with_a_unique_key():
    frame = generate("baseline", rows=1001, seed=0)
    assert len(frame) == 1001
    assert not frame.duplicated(["date", "store", "category"]).any()


@pytest.mark.demo_only
@pytest.mark.parametrize("scenario", ["baseline", "fuel-shock"])
def test_both_scenarios_satisfy_the_projects_schema(scenario):
    _, report = validate_frame(generate(scenario, rows=2000, seed=0), CONTRACT.records, scenario)
    assert report.valid, report.as_text()


def test_fuel_shock_raises_fuel_prices_and_moves_demand_away_from_car_dependent_stores():
    base = generate("baseline", rows=4320, seed=0)
    shock = generate("fuel-shock", rows=4320, seed=0)
    assert shock["fuel_price"].median() > base["fuel_price"].max()
    by_store = (
        shock.groupby("store")["units_sold"].mean() / base.groupby("store")["units_sold"].mean()
    )
    assert by_store["retail_park"] < 0.8 < by_store["city_centre"]


@pytest.mark.demo_only
def test_shipped_training_data_is_the_generators_baseline(tmp_path):
    regenerated = write_csv(generate("baseline", rows=8760, seed=0), tmp_path / "train.csv")
    assert regenerated.read_bytes() == (PROJECT / "data" / "train.csv").read_bytes()
