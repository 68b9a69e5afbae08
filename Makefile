# The newcomer's two commands: `make run` (the desk on SQLite with demo data) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run install install-dev test lint check-migrations bench bench-load bench-faults manifests clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -c constraints.txt -e .

install-dev: $(BIN)/python
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev]"

run: install
	$(BIN)/p2pdesk migrate --no-input -v0
	$(BIN)/p2pdesk demo
	@echo "API token for admin@p2pdesk.example (use as 'Authorization: Token <key>'):"
	@$(BIN)/p2pdesk create_api_token --email admin@p2pdesk.example --role admin
	@echo "Web desk on http://$(HOST):$(PORT)/desk/  API on http://$(HOST):$(PORT)/api/v1/tickets/  docs on http://$(HOST):$(PORT)/api/docs/"
	$(BIN)/p2pdesk runserver $(HOST):$(PORT)

lint: install-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports
	$(BIN)/mypy

check-migrations: install-dev
	$(BIN)/p2pdesk makemigrations --check --dry-run

# The whole suite: lint, architecture contracts, types, migrations, then pytest. Tests marked
# `postgres` need DATABASE_URL to point at PostgreSQL; on SQLite they are skipped and say so.
test: lint check-migrations
	$(BIN)/pytest -n 2

bench: install-dev
	$(BIN)/python bench/run_all.py

# The whole stack under a mixed load (locust), and the fault runs; both on a private PostgreSQL (5499)
# and Redis (6399) of their own. See bench/README.md.
bench-load: install-dev
	$(BIN)/pip install --quiet -c constraints.txt -e ".[bench]"
	cd bench && ../$(BIN)/python load.py

bench-faults: install-dev
	cd bench && ../$(BIN)/python faults.py all

# The Kubernetes manifests as the example overlay renders them (deploy/README.md).
manifests:
	kubectl kustomize deploy/k8s/overlays/example

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
