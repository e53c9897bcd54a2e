# One command to run, one to test. Both create .venv on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test eval lint bench clean

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

eval: $(BIN)/.installed
	$(BIN)/python benchmarks/faq_eval.py

clean:
	rm -rf $(VENV) .pytest_cache
