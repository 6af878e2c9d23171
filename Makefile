# Two entry points (see README): `make report` and `make test`.
# Both create a virtual environment in .venv from pyproject.toml the first time.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# make report PERIOD=2024 (or 2023-2025, or all); empty = the latest year in the data
PERIOD ?=
JOBS ?= 2
# pytest workers (pytest-xdist): the notebook matrix runs a kernel per test, two at a time
TEST_WORKERS ?= 2

.PHONY: venv report test lint bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

venv: $(BIN)/.installed

report: venv
	$(BIN)/assesskit report --out reports --jobs $(JOBS) $(if $(PERIOD),--periods $(PERIOD))

lint: venv
	$(BIN)/ruff check .

test: venv lint
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal

bench: venv
	for script in benchmarks/bench_*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) reports/*.csv reports/*/ .pytest_cache
