# Two commands for a newcomer: `make demo` and `make test`. Both set up the environment first.
SHELL := /bin/bash
export UV_COMPILE_BYTECODE := 1
export UV_LINK_MODE := copy
# MLflow 3 reports usage to its servers from a background thread; nothing here may call out (and with no
# network that thread once crashed a test's server process).
export MLFLOW_DISABLE_TELEMETRY := true
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
RUN := $(UV) run --frozen --no-sync
PYTEST_ARGS ?=

.PHONY: help setup demo test lint typecheck architecture serve clean
.PHONY: frontend  # folder: frontend
.PHONY: monitoring-up monitoring-down  # folder: observability
.PHONY: test-generator  # level: source

help:
	@echo "make demo   - set up and run ingest -> validate -> train -> register -> promote -> predict"
	@echo "make test   - set up and run lint, architecture contracts and the whole test suite"
	@echo "make monitoring-up / monitoring-down - Prometheus, Alertmanager and Pushgateway from observability/"  # folder: observability
	@echo "make test-generator - generate a project at each level and run its make demo and make test"  # level: source

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

# folder=frontend
# The web console (frontend/, DOCS/frontend.md): packages from the committed lock (again only when it changed),
# lint (eslint), type check (tsc), unit tests (Vitest), production build (served by `tripcast serve` at /ui).
# Its browser tests run in pytest (tests/e2e/frontend).
frontend/node_modules/.package-lock.json: frontend/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "npm (Node >= 20.19) is needed for the web console"; exit 1; }
	cd frontend && npm ci --no-audit --no-fund

frontend: frontend/node_modules/.package-lock.json
	cd frontend && npm run --silent lint && npm run --silent typecheck && npm test --silent && npm run --silent build

# level-end

TEST_STEPS := setup lint typecheck architecture
TEST_STEPS += frontend  # folder: frontend
test: $(TEST_STEPS)
	$(RUN) pytest $(PYTEST_ARGS)

# level>=source
# The generator (DOCS/generator.md): a project cut at each level, in a temporary folder, passes its own
# `make demo` and `make test` (tests/generator; slow, so not part of `make test`).
test-generator: setup
	$(RUN) pytest tests/generator -m generator $(PYTEST_ARGS)
# level-end

serve: setup
	$(RUN) tripcast serve

# folder=observability
# The monitoring stack on one machine (DOCS/observability.md): Debian's prometheus, prometheus-alertmanager and
# prometheus-pushgateway with the repository's configs, on the ports those configs name (9090, 9093, 9091).
# Data, logs and pid files under data/monitoring; `make monitoring-down` stops exactly the processes started here.
MONITORING_DIR := data/monitoring
PROMETHEUS_BIN := $(shell command -v prometheus 2>/dev/null)
ALERTMANAGER_BIN := $(shell command -v prometheus-alertmanager 2>/dev/null || command -v alertmanager 2>/dev/null)
PUSHGATEWAY_BIN := $(shell command -v prometheus-pushgateway 2>/dev/null || command -v pushgateway 2>/dev/null)

monitoring-up:
	@[ -n "$(PROMETHEUS_BIN)" ] && [ -n "$(ALERTMANAGER_BIN)" ] && [ -n "$(PUSHGATEWAY_BIN)" ] || \
		{ echo "needs: apt-get install -y prometheus prometheus-alertmanager prometheus-pushgateway"; exit 1; }
	@mkdir -p $(MONITORING_DIR)
	@$(PUSHGATEWAY_BIN) --web.listen-address=127.0.0.1:9091 --persistence.file= \
		>$(MONITORING_DIR)/pushgateway.log 2>&1 & echo $$! >$(MONITORING_DIR)/pushgateway.pid
	@$(ALERTMANAGER_BIN) --config.file=observability/alerting/alertmanager.yml --web.listen-address=127.0.0.1:9093 \
		--storage.path=$(MONITORING_DIR)/alertmanager --cluster.listen-address= \
		>$(MONITORING_DIR)/alertmanager.log 2>&1 & echo $$! >$(MONITORING_DIR)/alertmanager.pid
	@$(PROMETHEUS_BIN) --config.file=observability/prometheus/prometheus.yml --web.listen-address=127.0.0.1:9090 \
		--storage.tsdb.path=$(MONITORING_DIR)/prometheus \
		>$(MONITORING_DIR)/prometheus.log 2>&1 & echo $$! >$(MONITORING_DIR)/prometheus.pid
	@sleep 2
	@for name in pushgateway alertmanager prometheus; do \
		kill -0 $$(cat $(MONITORING_DIR)/$$name.pid) 2>/dev/null || { echo "$$name failed:"; tail -5 $(MONITORING_DIR)/$$name.log; exit 1; }; \
	done
	@echo "Prometheus http://127.0.0.1:9090  Alertmanager http://127.0.0.1:9093  Pushgateway http://127.0.0.1:9091"
	@echo "scrapes tripcast serve on 127.0.0.1:8000; logs in $(MONITORING_DIR); stop with: make monitoring-down"

monitoring-down:
	@for name in prometheus alertmanager pushgateway; do \
		pid=$(MONITORING_DIR)/$$name.pid; \
		if [ -f $$pid ]; then kill $$(cat $$pid) 2>/dev/null && echo "stopped $$name"; rm -f $$pid; fi; \
	done
# level-end

clean:
	rm -rf data/raw data/processed data/quarantine data/reports data/mlflow.db data/mlartifacts data/synthetic
