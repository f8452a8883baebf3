"""The gate on real data: how often its verdicts are right on the corpus of tests/own_data.py.

For each data set that ships inside a pip package (tests/own_data.py names them, with their
package, version and licence), a project is baked and the table adopted as a user would; then:

- the model against its baseline: the skill on the primary metric, and whether the gate's
  baseline check (beat it, gate.baseline_confidence sure) passes;
- the gate's tolerance, as adopt calibrated it on refits of the model (gate_tolerance.py);
- a no-change PR (the same model): must pass;
- nothing-material PRs: main's params, and the same with one hyper-parameter nudged by 5%,
  each trained on `REPLICATES` seeded 90% subsamples of the rows (scored on each subsample's own
  holdout): must pass (target: at least 98%, small data included);
- a shuffled-target PR (the training target permuted): must fail;
- a strongest-feature-dropped PR (the feature whose permutation hurts main's model most):
  must fail, unless the other features carry the same information (reported, not targeted).

Big tables are subsampled to MAX_ROWS rows (seeded): the gate's statistics do not change with
size past that, and the whole corpus stays within minutes on two cores.
`python verdicts/real_data.py [NAME ...]` writes verdicts/results/real.json and real.md.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pandas as pd
import yaml

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

from common import RESULTS, bake, package, use_project, write_json  # noqa: E402

import own_data  # noqa: E402  (tests/own_data.py: the corpus)

MAX_ROWS = 20_000
REPLICATES = int(os.environ.get("VERDICTS_REPLICATES", 10))
NUDGES = {  # one hyper-parameter per model, moved by 5%: a change of nothing material
    "gradient_boosting": ("learning_rate", 0.1, 0.95),
    "random_forest": ("n_estimators", 200, 1.05),
    "linear": ("alpha", 1.0, 1.05),
}


def main(names: list[str]) -> int:
    started = time.perf_counter()
    results = {}
    with tempfile.TemporaryDirectory(prefix="verdicts-real-") as work:
        project = bake(Path(work) / "bake")
        use_project(project)
        for name in names or own_data.NAMES:
            began = time.perf_counter()
            results[name] = measure(own_data.load(name), Path(work) / name, project)
            results[name]["seconds"] = round(time.perf_counter() - began, 1)
            print(f"{name}: {results[name]}", flush=True)
    summary = summarise(results)
    write_json(RESULTS / "real.json", {"summary": summary, "data_sets": results})
    text = markdown(results, summary, time.perf_counter() - started)
    (RESULTS / "real.md").write_text(text, encoding="utf-8")
    print(text)
    return 0


def measure(data: own_data.DataSet, folder: Path, template_project: Path) -> dict:
    """Every PR case on one data set; a dict of what happened."""
    folder.mkdir(parents=True)
    frame = data.frame
    if len(frame) > MAX_ROWS:
        frame = frame.sample(n=MAX_ROWS, random_state=0).sort_index()
    source = data.write(folder / "source" / data.file_name, frame)
    params = adopt(data, source, folder, template_project)
    train_file = Path(params["data"]["train"])
    champion = train(params, folder / "champion")
    record = {"rows": len(frame), "task": data.task, "primary": params["gate"]["primary_metric"]}
    record["tolerance"] = params["gate"]["max_regression"]  # calibrated by adopt
    record |= against_baseline(champion, train_file)
    same = compare(champion, champion, train_file)
    record["no_change_passes"] = same.passed
    record["nothing_material"] = nothing_material(params, frame, data, folder)
    record["shuffled_target_fails"] = shuffled_target_fails(params, frame, data, folder, champion)
    record |= strongest_feature_dropped(params, frame, data, folder, champion)
    return record


def adopt(data, source: Path, folder: Path, template_project: Path) -> dict:
    """`adopt` in a fresh copy of the baked project; its params.yaml, paths made absolute."""
    import shutil
    import subprocess

    project = folder / "project"
    shutil.copytree(template_project, project)
    env = {**os.environ, "PYTHONPATH": str(project / "src")}
    subprocess.run(
        [sys.executable, "-m", "demand_forecast", "adopt", str(source), *data.adopt_args()],
        cwd=project,
        env=env,
        check=True,
        capture_output=True,
    )
    params = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))
    for key in ("train", "schema", "incoming"):
        params["data"][key] = str(project / params["data"][key])
    return params


def write_params(params: dict, where: Path, **changes) -> Path:
    where.mkdir(parents=True, exist_ok=True)
    changed = yaml.safe_load(yaml.safe_dump(params))
    for dotted, value in changes.items():
        node = changed
        *parents, last = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    path = where / "params.yaml"
    path.write_text(yaml.safe_dump(changed), encoding="utf-8")
    return path


def train(params: dict, where: Path, data: Path | None = None, **changes) -> Path:
    load_params = package("model.params").load_params
    path = write_params(params, where, **changes)
    package("training.train").train(load_params(path), where / "model", data=data)
    return where / "model"


def compare(champion: Path, challenger: Path, data: Path):
    return package("review.compare").compare(champion, challenger, data)


def first_pr(model: Path, train_file: Path):
    """compare's result for `model` with no model on main (its baseline check, alone)."""
    with tempfile.TemporaryDirectory(prefix="absent-") as absent:
        (Path(absent) / "status.json").write_text('{"status": "absent", "reason": "first PR"}')
        return compare(Path(absent), model, train_file)


def against_baseline(champion: Path, train_file: Path) -> dict:
    """The model's skill over its baseline, and the gate's baseline check on a first PR."""
    check = first_pr(champion, train_file).baseline
    return {
        "baseline": check.description,
        "baseline_value": check.delta.main,
        "model_value": check.delta.pr,
        "skill": check.skill,
        "beats_baseline": check.beaten,
        "sure_better_than_baseline": check.delta.sure_better,
    }


def subsample(frame: pd.DataFrame, data, seed: int) -> pd.DataFrame:
    if data.time_column:  # keep the time order: drop a random tenth of the rows, not the tail
        keep = np.random.default_rng(seed).random(len(frame)) >= 0.1
        return frame[keep]
    return frame.sample(frac=0.9, random_state=seed).sort_index()


def nothing_material(params: dict, frame: pd.DataFrame, data, folder: Path) -> dict:
    """Main's params against a 5% nudge of one hyper-parameter, on REPLICATES subsamples."""
    name = params["model"]["name"]
    key, default, factor = NUDGES[name]
    current = (params["model"].get("hyperparameters") or {}).get(key, default)
    nudged = type(default)(current * factor) if isinstance(default, int) else current * factor
    outcomes = []
    for seed in range(REPLICATES):
        where = folder / f"material-{seed}"
        part = data.write(where / data.file_name, subsample(frame, data, seed))
        before = train(params, where / "main", part)
        after = train(params, where / "pr", part, **{f"model.hyperparameters.{key}": nudged})
        outcome = compare(before, after, part)
        # a PR failed only by the baseline check, where main's own model does not beat the
        # baseline either: the rule working as specified, not the comparison erring
        baseline_only = not outcome.passed and all("baseline" in f for f in outcome.failures)
        main_useless = baseline_only and not first_pr(before, part).baseline.beaten
        outcomes.append(
            {
                "passed": outcome.passed,
                "state": outcome.state,
                "failures": outcome.failures,
                "main_does_not_beat_the_baseline": main_useless,
                "repeated_splits": outcome.repeated is not None,
            }
        )
    return {
        "change": f"model.hyperparameters.{key}: {current} -> {nudged}",
        "passed": sum(o["passed"] for o in outcomes),
        "needs_a_look": sum(o["state"] == "needs a look" for o in outcomes),
        "of": len(outcomes),
        "why_failed": [o["failures"] for o in outcomes if not o["passed"]],  # for docs
        "failed_where_main_does_not_beat_the_baseline": sum(
            o["main_does_not_beat_the_baseline"] for o in outcomes
        ),
        # judged over repeated splits: the holdout was too small to tell (gate.min_rows)
        "over_repeated_splits": sum(o["repeated_splits"] for o in outcomes),
    }


def shuffled_target_fails(params, frame, data, folder: Path, champion: Path) -> bool:
    where = folder / "shuffled"
    shuffled = frame.copy()
    shuffled[data.target] = np.random.default_rng(0).permutation(shuffled[data.target].to_numpy())
    part = data.write(where / data.file_name, shuffled)
    challenger = train(params, where, part)
    return not compare(champion, challenger, Path(params["data"]["train"])).passed


def strongest_feature_dropped(params, frame, data, folder: Path, champion: Path) -> dict:
    """Drop the feature whose permutation hurts main's model most on its holdout."""
    strongest = strongest_feature(params, champion)
    features = {
        role: [column for column in columns if column != strongest]
        for role, columns in params["features"].items()
    }
    if not any(features.values()):
        return {"strongest_feature": strongest, "dropped_fails": None}
    where = folder / "dropped"
    drift = dict(params["drift"])  # a calibrated per-column test must name a feature
    drift["columns"] = {k: v for k, v in (drift.get("columns") or {}).items() if k != strongest}
    challenger = train(params, where, None, features=features, drift=drift)
    result = compare(champion, challenger, Path(params["data"]["train"]))
    return {
        "strongest_feature": strongest,
        "dropped_fails": not result.passed,
        "dropped_state": result.state,
        "dropped_worse_by": result.primary.worse_by if result.primary else None,
        "dropped_over_repeated_splits": result.repeated is not None,
    }


def strongest_feature(params: dict, champion: Path) -> str:
    from sklearn.inspection import permutation_importance

    artifacts, contract_module, dataset = (
        package(n) for n in ("model.artifacts", "data.contract", "data.dataset")
    )
    model = artifacts.load_model(champion)
    contract = contract_module.Contract.of_model(model)
    records = dataset.load_records(Path(params["data"]["train"]), contract)
    holdout = dataset.split_records(records, contract).holdout
    holdout = holdout.sample(n=min(len(holdout), 2000), random_state=0)
    known = holdout if model.task == "regression" else holdout[model.truth_of(holdout) >= 0]
    found = permutation_importance(
        model.pipeline,
        known[model.features],
        known[model.target],
        scoring="neg_mean_absolute_error" if model.task == "regression" else "accuracy",
        n_repeats=3,
        random_state=0,
    )
    return model.features[int(np.argmax(found.importances_mean))]


def summarise(results: dict) -> dict:
    material = [r["nothing_material"] for r in results.values()]
    dropped = [r["dropped_fails"] for r in results.values() if r.get("dropped_fails") is not None]
    useful = [r for r in results.values() if r["beats_baseline"]]

    def rate(hits: int, of: int) -> dict:
        return {"rate": hits / of if of else float("nan"), "of": of}

    return {
        "beats_baseline": rate(len(useful), len(results)),
        "no_change_passes": rate(
            sum(r["no_change_passes"] for r in results.values()), len(results)
        ),
        "nothing_material_passes": rate(
            sum(m["passed"] for m in material), sum(m["of"] for m in material)
        ),
        # the comparison's own error: PRs failed only because main's model, on that
        # subsample, does not beat the baseline either are left out (the rule, not an error)
        "nothing_material_passes_where_main_beats_its_baseline": rate(
            sum(m["passed"] for m in material),
            sum(m["of"] - m["failed_where_main_does_not_beat_the_baseline"] for m in material),
        ),
        "shuffled_target_fails": rate(
            sum(r["shuffled_target_fails"] for r in results.values()), len(results)
        ),
        "shuffled_target_fails_where_the_model_beats_its_baseline": rate(
            sum(r["shuffled_target_fails"] for r in useful), len(useful)
        ),
        "strongest_feature_dropped_fails": rate(sum(dropped), len(dropped)),
        "strongest_feature_dropped_fails_or_needs_a_look": rate(
            sum(r.get("dropped_state") in ("fail", "needs a look") for r in results.values()),
            len(dropped),
        ),
    }


def markdown(results: dict, summary: dict, seconds: float) -> str:
    def share(value: dict) -> str:
        rate = value["rate"]
        return ("n/a" if rate != rate else f"{rate * 100:.1f}%") + f" (of {value['of']})"

    lines = [
        f"# The gate on real data ({len(results)} data sets, {seconds:.0f} s)",
        "",
        "| data set | rows | primary | baseline | model | skill | beats it (gate) "
        "| tolerance | no change | nothing material passes | shuffled target fails "
        "| strongest dropped |",
        "| --- | ---: | --- | ---: | ---: | ---: | --- | ---: | --- | ---: | --- | --- |",
    ]
    for name, r in results.items():
        m = r["nothing_material"]
        skill = "n/a" if r["skill"] is None else f"{r['skill'] * 100:.0f}%"
        dropped = r.get("dropped_fails")
        lines.append(
            f"| {name} | {r['rows']} | {r['primary']} | {r['baseline_value']:.4g} | "
            f"{r['model_value']:.4g} | {skill} | {'yes' if r['beats_baseline'] else 'no'} | "
            f"{r['tolerance'] * 100:.3g}% | "
            f"{'pass' if r['no_change_passes'] else 'FAIL'} | {m['passed']}/{m['of']} | "
            f"{'yes' if r['shuffled_target_fails'] else 'no'} | "
            f"{'n/a' if dropped is None else r['dropped_state']} "
            f"({r.get('strongest_feature')}{_worse(r.get('dropped_worse_by'))}) |"
        )
    lines += ["", "| rate | measured |", "| --- | ---: |"]
    lines += [f"| {name.replace('_', ' ')} | {share(value)} |" for name, value in summary.items()]
    return "\n".join(lines) + "\n"


def _worse(share: float | None) -> str:
    """ ", 4.5% worse": how much worse the PR without the strongest feature scored."""
    return "" if share is None else f", {share * 100:+.3g}%"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
