"""`make verdicts`: how often the PR gate and the drift check are right, against known truth.

Bakes the default project, simulates PRs and periods whose true effect is known (gate.py,
drift.py), and writes verdicts/results/{gate,drift}.json (every record) and summary.md (the
rates against issue 12's targets). VERDICTS_SIZE=smoke runs a tiny configuration;
VERDICTS_ONLY=gate (or drift) reruns one section and reuses the other's last results
(summary: neither).
"""

from __future__ import annotations

import json
import os

os.environ.setdefault(
    "OMP_NUM_THREADS", "1"
)  # one core per worker: the workers are the parallelism

import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from common import RESULTS, bake, package, size_from_env, use_project, write_json


def pool(workers: int, project: Path) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(workers, initializer=use_project, initargs=(project,))


def seeds(first: int, count: int) -> range:
    return range(first, first + count)


def run_gate(size, project: Path, work: Path) -> dict:
    import gate

    params = package("model.params").load_params(project / "params.yaml")
    task = partial(
        gate.simulate_seed,
        project=str(project),
        work=str(work),
        realisations=size.truth_realisations,
    )
    with pool(size.workers, project) as workers:
        records = [
            r
            for seed_records in workers.map(task, seeds(size.first_seed, size.gate_seeds))
            for r in seed_records
        ]
    summary = gate.summarise(records, params.gate.max_regression, params.gate.max_slice_regression)
    write_json(RESULTS / "gate.json", {"summary": summary, "records": records})
    return summary


def summarise_gate(project: Path) -> dict:
    """The last gate results, summarised again (the summary may have grown since)."""
    import gate

    params = package("model.params").load_params(project / "params.yaml")
    records = json.loads((RESULTS / "gate.json").read_text(encoding="utf-8"))["records"]
    return gate.summarise(records, params.gate.max_regression, params.gate.max_slice_regression)


def summarise_drift(project: Path) -> dict:
    import drift

    params = package("model.params").load_params(project / "params.yaml")
    stored = json.loads((RESULTS / "drift.json").read_text(encoding="utf-8"))
    truths = stored["summary"]["true_decay"]
    return drift.summarise(stored["records"], truths, params.drift.decay_tolerance)


def run_drift(size, project: Path, work: Path) -> dict:
    import drift

    reference, model_dir, params_file = drift.prepare_reference(project, work / "drift")
    params = package("model.params").load_params(params_file)
    task = partial(
        drift.simulate_seed,
        project=str(project),
        work=str(work),
        months=size.months,
        model_dir=str(model_dir),
        reference=str(reference),
        params_file=str(params_file),
    )
    with pool(size.workers, project) as workers:
        drift_seeds = seeds(size.first_seed, size.drift_seeds)
        records = [r for seed_records in workers.map(task, drift_seeds) for r in seed_records]
    truths = {
        f"{kind}|{month}": drift.true_decay(
            kind, month, model_dir, params, size.drift_truth_realisations
        )
        for kind in drift.KINDS
        for month in size.months
    }
    summary = drift.summarise(records, truths, params.drift.decay_tolerance)
    write_json(RESULTS / "drift.json", {"summary": summary, "records": records})
    return summary


def percent(share: dict | float) -> str:
    value = share["rate"] if isinstance(share, dict) else share
    suffix = f" (of {share['of']})" if isinstance(share, dict) else ""
    return ("n/a" if value != value else f"{value * 100:.1f}%") + suffix


def met(value: dict, bound: float, at_most: bool) -> str:
    rate = value["rate"]
    if rate != rate:
        return "no cases"
    return "met" if (rate <= bound if at_most else rate >= bound) else "**not met**"


def summary_markdown(size, gate: dict, drift: dict, seconds: float) -> str:
    o, s = gate["overall"], gate["slices"]
    lab, unl = drift["labelled"], drift["unlabelled"]
    targets = [
        ("PRs truly worse than tolerance + 1 point fail", o["truly_worse_fail"], 0.95, False),
        ("PRs truly within tolerance - 1 point fail", o["truly_within_fail"], 0.02, True),
        (
            "PRs with no slice truly worse than half its tolerance get a slice flag",
            s["clean_prs_with_a_slice_fail"],
            0.05,
            True,
        ),
        (
            "slices truly worse by 1.5x tolerance flagged",
            s["truly_bad_slices_flagged"],
            0.80,
            False,
        ),
        ("ordinary months open a retraining PR (labelled)", lab["ordinary_retrain"], 0.05, True),
        ("ordinary months open a retraining PR (unlabelled)", unl["ordinary_retrain"], 0.05, True),
        ("harmful shifts open one (labelled)", lab["harmful_shift_retrain"], 0.95, False),
        ("harmful shifts open one (unlabelled)", unl["harmful_shift_retrain"], 0.95, False),
    ]
    old = [
        ("ordinary months (labelled)", lab["old_rule"]["ordinary_retrain"]),
        ("ordinary months (unlabelled)", unl["old_rule"]["ordinary_retrain"]),
        ("harmful shifts (labelled)", lab["old_rule"]["harmful_shift_retrain"]),
        ("harmful shifts (unlabelled)", unl["old_rule"]["harmful_shift_retrain"]),
        ("harmless shifts (labelled)", lab["old_rule"]["harmless_shift_retrain"]),
    ]
    lines = [
        f"# Verdicts ({size.name}: {gate['prs']} PRs, {drift['periods']} periods, {seconds:.0f} s)",
        "",
        "| target | bound | measured | |",
        "| --- | ---: | ---: | --- |",
    ]
    for name, value, bound, at_most in targets:
        sign = "≤" if at_most else "≥"
        lines.append(
            f"| {name} | {sign} {bound * 100:.0f}% | {percent(value)} | "
            f"{met(value, bound, at_most)} |"
        )
    lines += [
        "",
        "Retraining PRs under the rule before issue 12 (any column past its old threshold, or "
        "decay), replayed on the same scores: "
        + "; ".join(f"{name} {percent(value)}" for name, value in old)
        + f". Harmless shifts under the current rule (labelled): "
        f"{percent(lab['harmless_shift_retrain'])}.",
    ]
    lines += [
        "",
        f"PRs that break no tolerance (overall and every slice truly within it): check fails "
        f"{percent(gate['harmless_prs']['check_fails'])}, needs a look "
        f"{percent(gate['harmless_prs']['needs_a_look'])}.",
        f"Needs a look: truly worse {percent(o['truly_worse_needs_a_look'])}, truly within "
        f"{percent(o['truly_within_needs_a_look'])}, in between "
        f"{percent(o['in_between_needs_a_look'])} (in between fail: "
        f"{percent(o['in_between_fail'])}).",
        f"Clean PRs with a slice needing a look: {percent(s['clean_prs_with_a_slice_look'])}. "
        f"Flagged slices truly worse than tolerance: "
        f"{percent(s['flagged_slices_truly_worse_than_tolerance'])}, under half of it: "
        f"{percent(s['flagged_slices_truly_worse_under_half_tolerance'])}.",
        f"95% interval coverage of the true difference: overall {percent(o['interval_coverage'])},"
        f" slices {percent(s['interval_coverage'])}.",
        "",
        "Per PR change (medians over seeds; fail and needs a look: the overall verdict; slice fail:"
        " any slice fails; check fails: the PR's check is red for any reason):",
        "",
        "| PR change | true worse_by | fail | needs a look | slice fail | check fails "
        "| worst true slice |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for change, c in gate["per_change"].items():
        lines.append(
            f"| {change} | {c['median_true_worse_by'] * 100:+.1f}% | {percent(c['fail']['rate'])} |"
            f" {percent(c['needs_a_look']['rate'])} | {percent(c['slice_fail']['rate'])} |"
            f" {percent(c['check_fails']['rate'])} |"
            f" {c['max_true_slice_worse_by'] * 100:+.1f}% |"
        )
    lines += [
        "",
        "| period | true decay (by month) | retrain labelled | retrain unlabelled |"
        " drift unlabelled | refused |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for kind, row in lab["per_kind"].items():
        decays = ", ".join(
            "n/a" if value is None else f"{value * 100:+.0f}%"
            for key, value in drift["true_decay"].items()
            if key.startswith(kind + "|")
        )
        unrow = unl["per_kind"][kind]
        lines.append(
            f"| {kind} | {decays} | {percent(row['retrain']['rate'])} | "
            f"{percent(unrow['retrain']['rate'])} | {percent(unrow['drift']['rate'])} | "
            f"{percent(row['refused']['rate'])} |"
        )
    lines += [
        "",
        "Labelled retraining at other levels of `drift.decay_confidence` (replayed: retrain when "
        "the decay is past the tolerance, or the data drifted and the level's interval end is):",
        "",
        "| level | ordinary months | harmful shifts | harmless shifts |",
        "| ---: | ---: | ---: | ---: |",
    ]
    for level, row in drift["decay_levels"].items():
        lines.append(
            f"| {level} | {percent(row['ordinary'])} | {percent(row['harmful'])} | "
            f"{percent(row['harmless'])} |"
        )
    lines += [
        "",
        "| column | ordinary p95 | ordinary max | "
        + " | ".join(drift["shift_scores_median"])
        + " |",
        "| --- | ---: | ---: |" + " ---: |" * len(drift["shift_scores_median"]),
    ]
    for column, q in drift["ordinary_scores"].items():
        medians = " | ".join(f"{v[column]:.3g}" for v in drift["shift_scores_median"].values())
        lines.append(f"| {column} | {q['p95']:.3g} | {q['max']:.3g} | {medians} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    size = size_from_env()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="verdicts-") as temporary:
        work = Path(temporary)
        project = bake(work / "bake")
        use_project(project)
        only = os.environ.get("VERDICTS_ONLY")  # gate, drift, or summary (run neither)
        rerun = only in (None, "gate")
        gate = run_gate(size, project, work) if rerun else summarise_gate(project)
        print(f"gate done in {time.perf_counter() - started:.0f} s", flush=True)
        rerun = only in (None, "drift")
        drift = run_drift(size, project, work) if rerun else summarise_drift(project)
    seconds = time.perf_counter() - started
    text = summary_markdown(size, gate, drift, seconds)
    (RESULTS / "summary.md").write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
