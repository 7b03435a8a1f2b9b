# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test bench demo lint clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# Migrates the embedded SQLite database (var/fhir-adapter.db), makes the key for SMART client assertions
# when there is none, and starts the service on 127.0.0.1:8080 with one delivery worker inside.
run: install
	@mkdir -p var
	$(BIN)/fhir-adapter db upgrade
	@test -f var/keys/client-assertion.pem || $(BIN)/fhir-adapter keys generate
	$(BIN)/fhir-adapter serve

EHR_STAMP := tests/ehr/node_modules/.installed

# The stand-in EHR the delivery tests write to: @medplum/fhir-router, from npm.
$(EHR_STAMP): tests/ehr/package.json tests/ehr/package-lock.json
	npm ci --prefix tests/ehr --no-audit --no-fund --loglevel=error
	@touch $(EHR_STAMP)

AXE_STAMP := tests/browser/node_modules/.installed

# axe-core, which the browser tests inject into each page of the workspace (the browser: Debian's chromium).
$(AXE_STAMP): tests/browser/package.json tests/browser/package-lock.json
	npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error
	@touch $(AXE_STAMP)

test: install $(EHR_STAMP) $(AXE_STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install $(EHR_STAMP)
	$(BIN)/python -m tests.bench

# The round trip on one machine: the stand-in EHR, `fhir-adapter serve` and `fhir-adapter mllp` on a fresh
# SQLite database in var/demo/; an admission over MLLP, then a discharge and what comes back. Stops
# everything at the end; `make demo DEMO_ARGS=--keep` keeps it running until Ctrl-C.
demo: install $(EHR_STAMP)
	$(BIN)/python -m demo $(DEMO_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy fhir_adapter

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
