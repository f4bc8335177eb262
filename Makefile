# The two set-up commands are `make run` and `make test`; both create .venv on first use.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export LANDING_DIR ?= data/landing
export WAREHOUSE_DIR ?= warehouse
# Dagster keeps its run history next to the warehouse, so `make dev` shows the runs of `make run`.
export DAGSTER_HOME ?= $(abspath $(WAREHOUSE_DIR))/dagster_home
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export DO_NOT_TRACK := 1
export GX_ANALYTICS_ENABLED := false
export UV_COMPILE_BYTECODE := 1

.PHONY: run rebuild test dev lock bench clean install manifest dagster-home fixtures

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

# The SQLAlchemy that Superset ships (1.4.54) with duckdb-engine, apart from the venv's 2.1: the tests of
# docs/connecting.md run its SQLAlchemy recipe with this folder first on PYTHONPATH.
BI_SQLALCHEMY := $(VENV)/bi-sqlalchemy

# Reinstalls only when a lock file changes.
$(VENV)/.installed: requirements.lock requirements-bi-sqlalchemy.lock pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet --disable-pip-version-check uv==0.13.8
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	rm -rf $(BI_SQLALCHEMY)
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps --target $(BI_SQLALCHEMY) -r requirements-bi-sqlalchemy.lock
	touch $@

install: $(VENV)/.installed manifest

# The dbt manifest Dagster loads (orchestration/dbt_project.py), prepared here rather than when the code
# location is imported; again whenever a file of the dbt project is newer (dbt itself on PATH for dagster-dbt).
DBT_MANIFEST := dbt_project/target/manifest.json
DBT_PROJECT_FILES := $(shell find dbt_project -type f -not -path 'dbt_project/target/*' -not -path 'dbt_project/logs/*' -not -path 'dbt_project/dbt_packages/*')

$(DBT_MANIFEST): $(DBT_PROJECT_FILES) orchestration/dbt_project.py | $(VENV)/.installed
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/dagster-dbt project prepare-and-package --file orchestration/dbt_project.py
	touch $@

manifest: $(DBT_MANIFEST)

# Builds nothing when nothing changed since the last successful run (it says so); `make rebuild` always builds.
run: $(VENV)/.installed manifest dagster-home
	$(BIN)/python -m orchestration.run

rebuild: $(VENV)/.installed manifest dagster-home
	WAREHOUSE_FORCE_REBUILD=1 $(BIN)/python -m orchestration.run

# One pytest worker per core, a test module at a time (its module fixtures built once, on one worker).
test: $(VENV)/.installed manifest
	$(BIN)/python -m pytest -q -n auto --dist loadfile

# `dagster dev` parses the dbt project again on each reload (DbtProject.prepare_if_dev), with this dbt.
dev: $(VENV)/.installed manifest dagster-home
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/dagster dev -m orchestration.definitions --host 127.0.0.1 --port 3000

dagster-home:
	@mkdir -p "$(DAGSTER_HOME)" && cp orchestration/dagster.yaml "$(DAGSTER_HOME)/dagster.yaml"

lock: | $(BIN)/activate
	$(BIN)/pip install --quiet --disable-pip-version-check uv==0.13.8
	$(BIN)/uv pip compile requirements.in -p 3.11 --no-header -o requirements.lock

# Rebuilds tests/fixtures/dbt_warehouse/ from the shipped landing data with the release loader and mapping
# (tools/dbt_fixtures.py); tests/test_fixtures.py fails while the committed files differ from what it makes.
fixtures: $(VENV)/.installed
	$(BIN)/python -m tools.dbt_fixtures

bench: $(VENV)/.installed
	$(BIN)/python -m bench.enterprise_ingest
	$(BIN)/python -m bench.register_ingest
	$(BIN)/python -m bench.quality_checks
	$(BIN)/python -m bench.unchanged_run
	$(BIN)/python -m bench.new_file_runs

clean:
	rm -rf $(WAREHOUSE_DIR) dbt_project/target dbt_project/logs
