# One command to run, one to test. Both create .venv on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test eval calibrate lint bench clean demo

$(BIN)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $@

run: $(BIN)/.installed
	@$(BIN)/python -m bot run

test: $(BIN)/.installed
	$(BIN)/python -m ruff check bot handlers knowledge tests benchmarks
	$(BIN)/python -m mypy bot handlers knowledge
	$(BIN)/python -m bot kb check
	$(BIN)/python -m bot indicators check
	$(BIN)/python -m pytest -q

# A demo province (3 communes, 8 teams, ~2,000 records) in data/demo.db, then its report.
demo: $(BIN)/.installed
	rm -f data/demo.db data/demo.db-wal data/demo.db-shm
	$(BIN)/python -m bot demo --db data/demo.db
	$(BIN)/python -m bot report --db data/demo.db --province "Hưng Yên" --period thang --format xlsx --out data/demo_tinh.xlsx
	@echo "Chat as the province official: DATABASE_PATH=data/demo.db $(BIN)/python -m bot chat  (then /baocao)"

# Dev halves by default, with misses; `make eval ARGS="--split test"` prints held-out figures only.
eval: $(BIN)/.installed
	$(BIN)/python benchmarks/faq_eval.py $(ARGS)

# After the knowledge base changes: refit the matcher's calibration on the dev halves, then
# record the new dev figures as the floor that `make test` holds (benchmarks/eval/floor.json).
# A fixed string-hash seed makes both byte-identical from run to run (the fit also pins it itself).
calibrate: $(BIN)/.installed
	PYTHONHASHSEED=0 $(BIN)/python benchmarks/fit_calibration.py
	PYTHONHASHSEED=0 $(BIN)/python benchmarks/faq_eval.py --no-baselines --no-misses --write-floor

clean:
	rm -rf $(VENV) .pytest_cache
