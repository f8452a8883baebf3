"""adopt rewrites the README's generated sections and nothing else, and drops the demo's parts."""

from __future__ import annotations

import json
import subprocess

import pandera.pandas as pa
import pytest
import yaml

from {{ cookiecutter.package_name }}.adopt.readme import (
    BEGIN,
    END,
    data_section,
    request_example,
    rewrite,
    sections,
)

from conftest import CONTRACT, PROJECT

README = f"""# A project

{BEGIN.format(name="description")}
The old line.
{END.format(name="description")}

Text of the user's, kept.

<!-- BEGIN demo only -->
Only true of the demo.
<!-- END demo only -->

More of the user's text.
"""
PARAMS = {
    "description": "Predicts churn.",
    "task": "classification",
    "target": "churned",
    "features": {"categorical": ["plan"], "numeric": ["age"], "datetime": []},
    "key": ["customer"],
    "slices": ["plan"],
    "split": {"holdout_fraction": 0.2, "time_column": None},
}
SCHEMA = pa.DataFrameSchema(
    {
        "customer": pa.Column(str),
        "plan": pa.Column(str, pa.Check.isin(["basic", "pro"])),
        "age": pa.Column(float, pa.Check.in_range(0, 150), nullable=True),
        "churned": pa.Column(int, pa.Check.isin([0, 1])),
    }
)


def test_a_section_is_replaced_the_demo_part_removed_and_the_rest_kept():
    text, missing = rewrite(README, {"description": "Predicts churn."})

    assert "Predicts churn." in text and "The old line." not in text
    assert "Only true of the demo." not in text and "demo only" not in text
    assert "Text of the user's, kept.\n\nMore of the user's text." in text
    assert missing == []


def test_a_section_whose_markers_are_gone_is_reported_not_invented():
    text, missing = rewrite(README, {"data": "## The data"})
    assert missing == ["data"] and "## The data" not in text


def test_the_data_section_gives_every_column_its_role_and_what_it_accepts():
    rows = [{"plan": "pro", "age": 41.0}]
    data = sections(PARAMS, SCHEMA, rows, data_file="data/train.csv", source="crm.csv")["data"]

    assert "the model predicts `churned` (classification)" in data
    assert "| `customer` | key | str | any value of its type |" in data
    assert "| `plan` | feature (categorical) | str | one of `basic`, `pro` |" in data
    assert "| `age` | feature (numeric) | float64 | from 0 to 150, or empty |" in data
    assert "| `churned` | **target** |" in data
    assert "Slices: metrics are also reported for each value of `plan`." in data


def test_the_request_example_is_a_shell_command_that_sends_the_row_as_written():
    row = {"name": "O'Brien's", "age": 41.0}
    block = request_example([row])
    command = block.removeprefix("```bash\n").removesuffix("\n```")
    # what the shell passes to curl's -d, quotes and all
    echoed = command.split(" -d ", 1)[1]
    done = subprocess.run(["bash", "-c", f"printf %s {echoed}"], capture_output=True, text=True)
    assert json.loads(done.stdout) == {"rows": [row]}


def test_the_projects_readme_has_every_section_adopt_writes():
    text = (PROJECT / "README.md").read_text(encoding="utf-8")
    for name in ("description", "data", "request"):
        assert BEGIN.format(name=name) in text and END.format(name=name) in text


@pytest.mark.demo_only
def test_the_demos_data_section_is_what_adopt_would_write_for_its_contract():
    # so the demo's hand-written section and the renderer cannot tell two stories
    text = (PROJECT / "README.md").read_text(encoding="utf-8")
    written = text.split(BEGIN.format(name="data"))[1].split(END.format(name="data"))[0]
    params = yaml.safe_load((PROJECT / "params.yaml").read_text(encoding="utf-8"))
    rendered = data_section(params, CONTRACT.schema, data_file="data/train.csv", source="demo")
    table = rendered[rendered.index("| column |") :]
    assert table.strip() == written[written.index("| column |") :].strip()
