# The two commands of the README: `make run` (install + start the development server on :8000)
# and `make test` (install + run every test). `make check` is the fast inner loop while coding.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
PIP := $(BIN)/python -m pip install --disable-pip-version-check --quiet

.PHONY: install install-dev run check test migrate demo

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime-installed: requirements.txt | $(BIN)/python
	$(PIP) -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt requirements-dev-nodeps.txt | $(BIN)/python
	$(PIP) -r requirements-dev.txt
	$(PIP) --no-deps -r requirements-dev-nodeps.txt
	touch $@

install: $(VENV)/.runtime-installed

install-dev: $(VENV)/.dev-installed

## Start the development server (SQLite in ./data, OpenML's test server) on http://127.0.0.1:$(PORT)
run: install
	ENVIRONMENT=development $(BIN)/flask --app autoapp run --host 127.0.0.1 --port $(PORT)

## The fast inner loop (under 2 minutes): unit tests and the app tests on SQLite; no MariaDB,
## no podman, no subprocess servers (those are `slow`: tests that start gunicorn or a command)
check: install-dev
	$(BIN)/python -m pytest -q -n auto -m "not slow and not container" --backend sqlite $(PYTEST_ARGS)

## Install everything and run the whole test suite (SQLite and MariaDB)
test: install-dev
	bash tests/deploy/install_tools.sh
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## Apply database migrations for the current ENVIRONMENT
migrate: install
	$(BIN)/flask --app autoapp db upgrade

## Offline demo: the stand-in OpenML server on :8081 (the real fixtures of tests/fixtures/openml)
## and the development server
## on :$(PORT) talking to it: curl localhost:$(PORT)/api/v1/datasets/2/stats
demo: install
	@bash -c 'set -euo pipefail; \
	  $(BIN)/python -m tests.standin_openml --port 8081 & standin=$$!; \
	  trap "kill $$standin 2>/dev/null || true" EXIT; \
	  ENVIRONMENT=development OPENML_SERVER_URL=http://127.0.0.1:8081/api/v1/xml DATA_DIR=./data/demo \
	    $(BIN)/flask --app autoapp run --host 127.0.0.1 --port $(PORT)'
