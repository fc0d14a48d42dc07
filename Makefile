# Two commands for a newcomer: `make demo` and `make test`. Both set up the environment first.
SHELL := /bin/bash
export UV_COMPILE_BYTECODE := 1
export UV_LINK_MODE := copy
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
RUN := $(UV) run --frozen --no-sync
PYTEST_ARGS ?=

.PHONY: help setup demo test lint typecheck architecture serve clean frontend

help:
	@echo "make demo   - set up and run ingest -> validate -> train -> register -> promote -> predict"
	@echo "make test   - set up and run lint, architecture contracts and the whole test suite"

setup:
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet --user uv
	@$(UV) sync --frozen --all-extras --quiet

demo: setup
	$(RUN) tripcast demo

lint: setup
	$(RUN) ruff check .
	$(RUN) ruff format --check .

typecheck: setup
	$(RUN) mypy

architecture: setup
	$(RUN) lint-imports

# The web console (frontend/, DOCS/frontend.md): packages from the committed lock (again only when it changed),
# lint (eslint), type check (tsc), unit tests (Vitest), production build (served by `tripcast serve` at /ui).
# Its browser tests run in pytest (tests/e2e/frontend).
frontend/node_modules/.package-lock.json: frontend/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "npm (Node >= 20.19) is needed for the web console"; exit 1; }
	cd frontend && npm ci --no-audit --no-fund

frontend: frontend/node_modules/.package-lock.json
	cd frontend && npm run --silent lint && npm run --silent typecheck && npm test --silent && npm run --silent build

test: setup lint typecheck architecture frontend
	$(RUN) pytest $(PYTEST_ARGS)

serve: setup
	$(RUN) tripcast serve

clean:
	rm -rf data/raw data/processed data/quarantine data/reports data/mlflow.db data/mlartifacts data/synthetic
