# The two commands of the README: `make demo` and `make test`. Both build .venv themselves.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_DIR ?= build/demo

.PHONY: demo test bench bench-dvc lock verdicts verdicts-real venv clean

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.9  # the generated CI pins the same
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -r requirements.txt
	touch $@

demo: venv
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/demo.sh "$(DEMO_DIR)"

test: venv
	$(BIN)/python -m pytest -n auto tests

bench: venv
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# the generated project's uv.lock, one per python_version (templates/); UPGRADE=1 for the newest
lock: venv
	$(BIN)/python scripts/lock.py $(if $(UPGRADE),--upgrade) $(LOCK_ARGS)

# How often the gate and the drift check are right (docs/verdicts.md); VERDICTS_SIZE=smoke is tiny.
# Then the gate on the real-data corpus of tests/own_data.py (verdicts-real alone), and drift
# alarms on recent tables smaller than the calibrated window (verdicts/batch_size.py).
verdicts: venv
	$(BIN)/python verdicts/run.py
	$(BIN)/python verdicts/real_data.py
	$(BIN)/python verdicts/batch_size.py

verdicts-real: venv
	$(BIN)/python verdicts/real_data.py $(NAMES)

# data in git vs DVC: repository size after ten retraining PRs at 1M rows, and dvc pull's time
bench-dvc: venv
	$(BIN)/python bench/data_storage.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build .pytest_cache
