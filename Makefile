# pg-advisor: `make demo` and `make test` install what they need, then run.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup demo test lint typecheck unit integration bench dashboards handoff-schema clean

setup:
	@bash scripts/setup.sh

demo: setup
	$(PY) -m advisor.demo

lint: setup
	$(VENV)/bin/ruff check advisor tests bench dashboards
	$(VENV)/bin/ruff format --check advisor tests bench dashboards

typecheck: setup
	$(VENV)/bin/mypy

unit: setup
	$(VENV)/bin/pytest -q tests/unit

test: setup
	$(VENV)/bin/ruff check advisor tests bench dashboards
	$(VENV)/bin/ruff format --check advisor tests bench dashboards
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest -q

bench: setup
	$(PY) -m bench

dashboards: setup
	$(PY) -m dashboards.build

handoff-schema: setup
	$(PY) -m advisor.export.handoff_schema

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache tests/drizzle/node_modules
