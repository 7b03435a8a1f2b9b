# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test bench lint clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# Maps the sample discharge case file to a FHIR R4 transaction Bundle and validates it.
run: install
	@mkdir -p var
	$(BIN)/fhir-adapter map fixtures/cases/discharge-kim.json > var/discharge-kim.bundle.json
	$(BIN)/fhir-adapter validate var/discharge-kim.bundle.json
	@echo "Wrote var/discharge-kim.bundle.json"

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install
	$(BIN)/python -m tests.bench

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy fhir_adapter

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
