# One command to run, one to test. Both create .venv on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test eval calibrate lint bench clean

$(BIN)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $@

run: $(BIN)/.installed
	@$(BIN)/python -m bot run

test: $(BIN)/.installed
	$(BIN)/python -m ruff check bot handlers knowledge tests benchmarks
	$(BIN)/python -m bot kb check
	$(BIN)/python -m pytest -q

# Dev halves by default, with misses; `make eval ARGS="--split test"` prints held-out figures only.
eval: $(BIN)/.installed
	$(BIN)/python benchmarks/faq_eval.py $(ARGS)

# After the knowledge base changes: refit the matcher's calibration on the dev halves, then
# record the new dev figures as the floor that `make test` holds (benchmarks/eval/floor.json).
calibrate: $(BIN)/.installed
	$(BIN)/python benchmarks/fit_calibration.py
	$(BIN)/python benchmarks/faq_eval.py --no-baselines --no-misses --write-floor

clean:
	rm -rf $(VENV) .pytest_cache
