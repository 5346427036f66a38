# Handoff: `make run` starts the dashboard on sample data, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8501

.PHONY: run test lint format bench bench-shapes sample clean browser parity

$(VENV)/.stamp-runtime: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	# The `handoff` command (pyproject.toml), pointing at this checkout.
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.stamp-dev: requirements.txt requirements-dev.txt $(VENV)/.stamp-runtime
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

run: $(VENV)/.stamp-runtime
	$(PY) -m streamlit run dashboard.py --server.port=$(PORT)

# Chromium for the browser tests comes from Debian; without it those tests are skipped.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "Chromium not found: install it (apt-get install chromium) to run the browser tests"; fi; }

test: $(VENV)/.stamp-dev browser
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest

lint: $(VENV)/.stamp-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.stamp-dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

sample: $(VENV)/.stamp-runtime
	$(PY) -m data.store sample

bench: $(VENV)/.stamp-dev
	$(PY) -m tests.bench $(BENCH_ARGS)

# First import of each export shape at 1,000,000 rows, timed (docs/import.md; SHAPES_ARGS="--rows 2000", "--shapes sf_objects").
SHAPES_DIR ?= /tmp/handoff-shapes
bench-shapes: $(VENV)/.stamp-runtime
	$(PY) -m tests.bench_shapes --out $(SHAPES_DIR) --run $(SHAPES_ARGS)

clean:
	rm -rf $(VENV) data/*.duckdb data/*.duckdb.wal

# 20 concurrent sessions on a 1,000,000-lead store (LOAD_ARGS="--imports 2", "--control", ...).
load: $(VENV)/.stamp-dev
	$(PY) -m tests.load $(LOAD_ARGS)

# Every query the pages run, on DuckDB and on embedded ClickHouse (chdb), compared row for row
# on a 3,000-lead sample (PARITY_ARGS="--views 30 --seed 8"; queries/engines.py).
PARITY_DB ?= tests/artifacts/parity/sample.duckdb
parity: $(VENV)/.stamp-dev
	mkdir -p $(dir $(PARITY_DB))
	$(PY) -m data.store sample --leads 3000 --seed 7 --db $(PARITY_DB)
	$(PY) -m tests.parity --db $(PARITY_DB) $(PARITY_ARGS)
