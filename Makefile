# make run   create the virtualenv, install, create the SQLite database with the demo, serve
#            (with a job worker beside the web server; Ctrl-C stops both)
# make test  install the test dependencies and run the whole suite
SHELL := /bin/sh
VENV := .venv
BIN := $(VENV)/bin
AXE_VERSION := 4.14.1
AXE := .cache/npm/node_modules/axe-core/axe.min.js
HOST ?= 127.0.0.1
PORT ?= 5000
PYTEST_ARGS ?=

.PHONY: run test install install-test clean

$(BIN)/python:
	@python=$$(scripts/find-python) || exit 1; \
	echo "Creating $(VENV) with $$python"; \
	"$$python" -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

$(AXE):
	npm install --silent --no-audit --no-fund --prefix .cache/npm axe-core@$(AXE_VERSION)

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test $(AXE)
	@scripts/ensure-chromium

run: install
	$(BIN)/consult db upgrade
	$(BIN)/consult demo
	@echo "Consult is serving on http://$(HOST):$(PORT)/ with a job worker beside it (Ctrl-C stops both)"
	@$(BIN)/consult worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	CONSULT_SESSION_COOKIE_SECURE=false $(BIN)/consult run --host $(HOST) --port $(PORT)

test: install-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .cache .pytest_cache *.egg-info
