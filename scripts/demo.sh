#!/usr/bin/env bash
# `make demo`: bake the default project and run the story it was built for, locally.
#   1. main: train on a year of baseline sales (data -> validate -> train -> evaluate)
#   2. fuel prices jump: recent data arrives, the drift check finds it and the model's error grown
#   3. the retraining pull request: retrain, rebuild main's model, compare both, write the comment
#   4. a person reads the comment and merges; the release builds the bento from the merged model
set -euo pipefail
out="${1:-build/demo}"
template="$(cd "$(dirname "$0")/.." && pwd)"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

cookiecutter --no-input --overwrite-if-exists --output-dir "$out" "$template"
project="$out/demand-forecast"
echo "Baked the default project into: $project"
cd "$project"
export PYTHONPATH="$project/src" BENTOML_HOME="$out/bentoml"  # the demo's own model store
git() { command git -c user.name="Demo" -c user.email="demo@example.com" "$@"; }
run() { echo; echo "\$ $*"; "$@"; }
section() { echo; echo "=== $* ==="; }

section "1. main: the model as it is in production"
rm -rf .git models reports data/incoming/*.csv
git init -q -b main && git add -A && git commit -qm "Baked from the template"
run python -m demand_forecast data --scenario baseline --rows 8760 --seed 0 --out data/train.csv
run python -m demand_forecast validate data/train.csv
run python -m demand_forecast train --out models/champion
run python -m demand_forecast evaluate --model models/champion --data data/train.csv

section "2. fuel prices jump: three months of recent sales arrive in data/incoming/"
run python -m demand_forecast data --scenario fuel-shock --rows 2160 --seed 0 \
  --out data/incoming/fuel-shock.csv
run python -m demand_forecast drift --reference data/train.csv --current data/incoming \
  --model models/champion --out reports/drift

section "3. the retraining pull request (what the drift workflow opens)"
git checkout -q -b retrain/drift
run python -m demand_forecast retrain --current data/incoming --drift reports/drift
git add -A && git commit -qm "Retrain on recent data after drift"
run python -m demand_forecast validate data/train.csv --markdown reports/validation.md
run python -m demand_forecast train --out models/challenger
run python -m demand_forecast champion --base main --out models/main
set +e
run python -m demand_forecast compare --champion models/main --challenger models/challenger \
  --data data/train.csv --validation reports/validation.md --out reports/comment.md
gate=$?
set -e
echo; echo "--- the bot's comment on the pull request (reports/comment.md) ---"
cat reports/comment.md
if [ "$gate" -ne 0 ]; then
  echo "The gate failed: a reviewer would not merge this pull request." >&2
  exit 1
fi

section "4. a reviewer approves and merges; the release workflow builds the bento"
git checkout -q main && git merge -q --no-ff retrain/drift -m "Merge the retraining pull request"
run python -m demand_forecast train --out models/release
echo; echo "\$ python -m demand_forecast bento --model models/release"
tag=$(python -m demand_forecast bento --model models/release | tail -n 1)
echo "$tag"
echo
echo "Demo finished. The project is in $project"
echo "Serve the released model: BENTOML_HOME=$BENTOML_HOME bentoml serve $tag"
