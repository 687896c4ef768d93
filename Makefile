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

BENCH_OUT := instance/bench
bench: $(VENV)/.installed  ## every benchmark, then one table of figures and targets (QUICK=1: small)
	scripts/services.sh
	rm -rf $(BENCH_OUT) && mkdir -p $(BENCH_OUT)
	for script in query intake positions startup; do \
	  BENCH_QUICK=$(QUICK) BENCH_RESULTS=$(BENCH_OUT)/results.jsonl $(PY) bench/$$script.py \
	  || exit 1; done
	$(PY) bench/fanout.py $(if $(QUICK),1) > $(BENCH_OUT)/fanout.txt; \
	  status=$$?; cat $(BENCH_OUT)/fanout.txt; exit $$status
	$(PY) bench/spatial.py $(if $(QUICK),20000)
	$(PY) bench/report.py $(BENCH_OUT)/results.jsonl $(BENCH_OUT)/fanout.txt

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache
