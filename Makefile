# Quick start: `make run` serves the demo; `make test` runs every test.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test test-fast lint bench clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

run: $(VENV)/.installed  ## serve on SQLite, the outbox and demo data, with the virtual phones
	$(FLASK) db upgrade
	$(FLASK) demo seed
	DISPATCHER_PHONES_ENABLED=1 $(FLASK) serve --host $(HOST) --port $(PORT)

test: $(VENV)/.installed  ## every test, on SQLite and PostgreSQL
	scripts/services.sh
	$(PY) -m pytest

test-fast: $(VENV)/.installed  ## the tests that need no database
	$(PY) -m pytest -m "not db"

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .

bench: $(VENV)/.installed
	for script in bench/*.py; do $(PY) $$script || exit 1; done

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache
