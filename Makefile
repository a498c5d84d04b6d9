# Two set-up commands: `make run` (the whole product) and `make test` (the whole test suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Lint needs settings to import; nothing connects to these.
LINT_ENV := DJANGO_SETTINGS_MODULE=casinoclub.settings.test DATABASE_URL=postgres://lint@127.0.0.1:1/lint REDIS_URL=redis://127.0.0.1:1/0

.PHONY: run test lint format schema install clean-data bench-realtime

$(STAMP): requirements.txt requirements-dev.txt constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q --upgrade pip
	$(PY) -m pip install --disable-pip-version-check -q -r requirements-dev.txt -c constraints.txt
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(PY) scripts/devstack.py run

test: $(STAMP)
	$(PY) scripts/devstack.py exec --ephemeral -- $(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(LINT_ENV) $(VENV)/bin/mypy .
	$(LINT_ENV) $(VENV)/bin/lint-imports
	$(LINT_ENV) $(PY) manage.py makemigrations --check --dry-run

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

schema: $(STAMP)
	$(PY) scripts/devstack.py exec --ephemeral -- $(PY) manage.py export_openapi

bench-realtime: $(STAMP)
	$(PY) scripts/devstack.py exec --ephemeral -- $(PY) bench/realtime_latency.py $(BENCH_ARGS)

clean-data:
	rm -rf .data
