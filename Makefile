# The developer interface. `make dev` runs the product locally; `make test` runs the test suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: dev test synth import demo-data clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

# `make dev STORE=DIR` runs on a store folder (docs/import-format.md) instead of the demo store.
dev: $(STAMP)
	$(BIN)/concierge dev $(if $(STORE),--store $(STORE),--demo-month 7)

test: $(STAMP)
	$(BIN)/python -m pytest

synth: $(STAMP)
	$(BIN)/python -m infra.app

demo-data: $(STAMP)
	$(BIN)/concierge demo-data demo/store

clean:
	rm -rf $(VENV) cdk.out .concierge
