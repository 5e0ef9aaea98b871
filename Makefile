# shotzones: `make demo` and `make test` on a fresh machine; everything installs itself.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_DIR := data/demo
DEMO_DB := warehouse/demo.duckdb
# The BigQuery emulator the BigQuery-path tests start: its own venv, as it pins duckdb 1.5.6
EMULATOR_VENV := .venv-emulator
EMULATOR_REQUIREMENTS := tests/python/bigquery_emulator/requirements.txt
# SQLMesh, for the benchmark's side-by-side comparison only: its own venv, as it pins duckdb < 2
BENCH_VENV := .venv-bench
# one pytest worker more than cores: the BigQuery tests wait on the emulator, a process of its own
TEST_WORKERS ?= $(shell $(PYTHON) -c 'import os; print((os.cpu_count() or 1) + 1)')
BENCH_REQUIREMENTS := bench/requirements-sqlmesh.txt

.PHONY: install emulator demo test lint unit bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

emulator: $(EMULATOR_VENV)/.installed

$(EMULATOR_VENV)/.installed: $(EMULATOR_REQUIREMENTS)
	rm -rf $(EMULATOR_VENV)
	$(PYTHON) -m venv $(EMULATOR_VENV)
	$(EMULATOR_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(EMULATOR_VENV)/bin/python -m pip install --quiet -r $(EMULATOR_REQUIREMENTS)
	touch $@

demo: install
	@rm -rf $(DEMO_DIR) $(DEMO_DB)
	@SECONDS=0; \
	$(BIN)/shotzones generate --first-season 2023 --seasons 1 --seed 42 --upcoming-dates 3 --out $(DEMO_DIR) && \
	SHOTZONES_DUCKDB=$(DEMO_DB) $(BIN)/shotzones load $(DEMO_DIR) && \
	SHOTZONES_DUCKDB=$(DEMO_DB) $(BIN)/shotzones load-schedule $(DEMO_DIR) && \
	SHOTZONES_DUCKDB=$(DEMO_DB) $(BIN)/shotzones backfill && \
	SHOTZONES_DUCKDB=$(DEMO_DB) $(BIN)/shotzones status --png warehouse/demo-status.png && \
	SHOTZONES_DUCKDB=$(DEMO_DB) $(BIN)/shotzones report && \
	SHOTZONES_DUCKDB=$(DEMO_DB) $(BIN)/shotzones features --games 2 && \
	echo "demo: generate, load, backfill, report and serve the next slate in $${SECONDS} s"

lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	@mkdir -p warehouse  # the dbt templater opens the default DuckDB file
	$(BIN)/sqlfluff lint models

test: install emulator lint
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

# The benchmark (bench/run.py): about 10-15 minutes on 2 cores; writes BENCHMARKS.md and
# bench/results.json. Generated data is cached in bench/cache/.
bench: install $(BENCH_VENV)/.installed
	$(BIN)/python bench/run.py

$(BENCH_VENV)/.installed: $(BENCH_REQUIREMENTS)
	rm -rf $(BENCH_VENV)
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install --quiet -r $(BENCH_REQUIREMENTS)
	touch $@

clean:
	rm -rf target logs warehouse data $(VENV) $(EMULATOR_VENV) $(BENCH_VENV)
