# Velferdslab — the two commands are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export FLASK_APP := velferdslab

.PHONY: run test lint bench install translations translations-update clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP) translations

## make translations: compile the catalogues (.po) into .mo files; a broken catalogue fails the build
translations: $(STAMP)
	@$(BIN)/pybabel compile -d velferdslab/translations --statistics

## make translations-update: re-extract the strings, merge them into the catalogues, report what is left
translations-update: $(STAMP)
	scripts/update_translations.sh

## make run: migrate the embedded SQLite database, load the demo lab if empty, serve on :5000
run: install
	$(BIN)/velferdslab db upgrade
	$(BIN)/velferdslab demo load --if-empty
	$(BIN)/velferdslab run --host 127.0.0.1 --port 5000

## make test: the whole suite on SQLite, and on PostgreSQL too when VELFERDSLAB_TEST_DATABASE_URL is set
test: install
	$(BIN)/pytest $(PYTEST_ARGS)

## make lint: ruff, the dependency arrows (import-linter, setup.cfg) and the types (mypy, setup.cfg)
lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy

bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache
