# make run   create the virtualenv, install, create the SQLite database with the demo, serve
#            (with a job worker beside the web server; Ctrl-C stops both)
# make test  install the test dependencies and run the whole suite
# make lint  ruff check, ruff format --check, lint-imports (the layers contract in .importlinter)
# make catalogues  extract the marked strings, update each language's catalogue, compile them
# make lock  re-resolve requirements/*.txt from pyproject.toml (after changing a dependency)
SHELL := /bin/sh
VENV := .venv
BIN := $(VENV)/bin
AXE_VERSION := 4.14.1
AXE := .cache/npm/node_modules/axe-core/axe.min.js
# The OpenID provider the sign-in tests run (tests/oidc/provider.js); 8.x is the line that supports Node 20.
OIDC_PROVIDER_VERSION := 8.8.1
OIDC_PROVIDER := .cache/npm/node_modules/oidc-provider/package.json
HOST ?= 127.0.0.1
PORT ?= 5000
PYTEST_ARGS ?=
# Installs come from these lock files (exact versions and hashes, resolved for Linux, Python 3.12/3.13).
LOCK := requirements/lock.txt
TEST_LOCK := requirements/test-lock.txt
LOCK_VENV := .cache/pip-tools
PIP_COMPILE := $(LOCK_VENV)/bin/pip-compile --quiet --resolver=backtracking --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links

.PHONY: run test lint lock install install-test clean catalogues

$(BIN)/python:
	@python=$$(scripts/find-python) || exit 1; \
	echo "Creating $(VENV) with $$python"; \
	"$$python" -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(LOCK) pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.installed-test: $(TEST_LOCK) $(VENV)/.installed
	$(BIN)/python -m pip install --quiet --require-hashes -r $(TEST_LOCK)
	touch $@

$(AXE):
	npm install --silent --no-audit --no-fund --prefix .cache/npm axe-core@$(AXE_VERSION)

$(OIDC_PROVIDER): | $(AXE)  # one npm at a time in .cache/npm
	npm install --silent --no-audit --no-fund --prefix .cache/npm oidc-provider@$(OIDC_PROVIDER_VERSION)

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test $(AXE) $(OIDC_PROVIDER)
	@scripts/ensure-chromium

# Links in mail and in the record name the site's own address, never the request's Host.
run: export CONSULT_BASE_URL ?= http://$(HOST):$(PORT)
run: install
	$(BIN)/consult db upgrade
	$(BIN)/consult demo
	@echo "Consult is serving on http://$(HOST):$(PORT)/ with a job worker beside it (Ctrl-C stops both)"
	@$(BIN)/consult worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	CONSULT_SESSION_COOKIE_SECURE=false $(BIN)/consult run --host $(HOST) --port $(PORT)

test: install-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install-test  # all three run; any failure fails the target
	@status=0; \
	$(BIN)/ruff check --output-format concise . || status=1; \
	$(BIN)/ruff format --check . || status=1; \
	$(BIN)/lint-imports || status=1; \
	exit $$status

# The compiled .mo files are committed beside their .po (the package ships them); a test fails
# when one is out of date, or a catalogue lacks a translation.
catalogues: install
	$(BIN)/python scripts/catalogues.py

# The test lock is resolved within the runtime lock, so both install the same versions.
lock: | $(BIN)/python
	@test -x $(LOCK_VENV)/bin/pip-compile || { $(BIN)/python -m venv $(LOCK_VENV) && $(LOCK_VENV)/bin/python -m pip install --quiet "pip-tools>=7.4,<8"; }
	$(PIP_COMPILE) --output-file $(LOCK) pyproject.toml
	$(PIP_COMPILE) --extra test --constraint $(LOCK) --output-file $(TEST_LOCK) pyproject.toml

clean:
	rm -rf $(VENV) .cache .pytest_cache *.egg-info
