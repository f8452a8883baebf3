#!/usr/bin/env bash
# Bake the default project and run its local loop: data -> validate -> train -> evaluate.
set -euo pipefail
out="${1:-build/demo}"
template="$(cd "$(dirname "$0")/.." && pwd)"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

cookiecutter --no-input --overwrite-if-exists --output-dir "$out" "$template"
project="$out/demand-forecast"
echo "Baked the default project into: $project"
cd "$project"
export PYTHONPATH="$project/src"
run() { echo; echo "\$ $*"; "$@"; }

run python -m demand_forecast data --scenario baseline --rows 8760 --seed 0 --out data/train.csv
run python -m demand_forecast validate data/train.csv
run python -m demand_forecast train --out models/champion
run python -m demand_forecast evaluate --model models/champion --data data/train.csv
echo
echo "Demo finished. The project is in $project"
