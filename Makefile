# visit-planner: `make run` sets up everything and serves the API; `make test` runs every check.
# Both create .venv with python3 (3.11+) when missing and reinstall only when pyproject.toml changes.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
MAKEFLAGS += --no-builtin-rules

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# The address to print for clients: a wildcard bind is reached through the loopback.
CLIENT_HOST := $(if $(filter 0.0.0.0 ::,$(HOST)),127.0.0.1,$(HOST))
BASE_URL := http://$(CLIENT_HOST):$(PORT)
SAMPLE_REQUEST := var/sample-request.json

RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: help run test install install-dev sample audit

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11 or newer" >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
	  echo "error: visit-planner needs Python 3.11 or newer; $(PYTHON) is $$($(PYTHON) -V 2>&1)." >&2; \
	  echo "       Install it, or point make at it: make <target> PYTHON=python3.11" >&2; exit 1; }
	@$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
	  echo "error: '$(PYTHON) -m venv' failed; on Debian/Ubuntu: sudo apt-get install python3-venv" >&2; exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

# The dev extras include the project itself, so this install also satisfies `make run`.
$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@ $(RUN_STAMP)

install: $(RUN_STAMP) ## Create .venv and install the project
install-dev: $(DEV_STAMP) ## Create .venv and install the project with its dev tools

sample: $(RUN_STAMP) ## Write the sample POST /plan request to var/sample-request.json
	$(BIN)/python -m app.sample --out $(SAMPLE_REQUEST)

run: $(RUN_STAMP) ## Migrate, create a demo API key, a sample request and territory, serve (HOST, PORT)
	@mkdir -p var
	$(BIN)/visit-planner migrate
	@key="$$($(BIN)/visit-planner create-api-key --name demo --scope territory)"; \
	[[ -n "$$key" ]] || { echo "error: 'visit-planner create-api-key' printed no key" >&2; exit 1; }; \
	$(BIN)/python -m app.sample --out $(SAMPLE_REQUEST); \
	territory="$$($(BIN)/visit-planner sample-territory 2>/dev/null)"; \
	[[ -n "$$territory" ]] || { echo "error: 'visit-planner sample-territory' printed no id" >&2; exit 1; }; \
	echo; \
	echo "visit-planner is starting on $(BASE_URL)  (Ctrl-C stops it)"; \
	echo "  API docs (OpenAPI): $(BASE_URL)/docs"; \
	echo "  Demo API key 'demo': $$key"; \
	echo "  Plan the sample week (2 reps, 40 customers in Shanghai) from another terminal:"; \
	echo; \
	printf "curl -sS -X POST %s/plan -H 'Authorization: Bearer %s' -H 'Content-Type: application/json' --data-binary '@%s'\n" \
	  "$(BASE_URL)" "$$key" "$(CURDIR)/$(SAMPLE_REQUEST)"; \
	echo; \
	echo "  Plan next week for every rep of the sample territory (3 reps, 40 customers), then read the run:"; \
	echo; \
	printf "curl -sS -X POST %s/territories/%s/runs -H 'Authorization: Bearer %s'\n" "$(BASE_URL)" "$$territory" "$$key"; \
	printf "curl -sS %s/territories/%s/runs -H 'Authorization: Bearer %s'\n" "$(BASE_URL)" "$$territory" "$$key"; \
	echo; \
	export VP_PUBLIC_BASE_URL="$${VP_PUBLIC_BASE_URL:-$(BASE_URL)}"; \
	exec $(BIN)/visit-planner serve --host $(HOST) --port $(PORT)

test: $(DEV_STAMP) ## Run every check: ruff, format, mypy, import contracts, tests (pytest -n auto), audit
	bash scripts/install-chromium.sh
	bash scripts/osrm.sh
	bash scripts/nominatim.sh
	$(BIN)/python -m pytest -n auto
	$(BIN)/python scripts/audit.py --offline-ok

audit: $(DEV_STAMP) ## Fail on known vulnerabilities in the installed dependencies (PyPI advisories)
	$(BIN)/python scripts/audit.py
