# Two set-up commands: `make run` (the whole product) and `make test` (the whole test suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Lint needs settings to import; nothing connects to these.
LINT_ENV := DJANGO_SETTINGS_MODULE=casinoclub.settings.test DATABASE_URL=postgres://lint@127.0.0.1:1/lint REDIS_URL=redis://127.0.0.1:1/0

# promtool validates the Prometheus files in lint. Debian's "prometheus" package ships it: when it
# is not on PATH, lint unpacks the binary from that package into .tools/ (no service installed).
SUDO := $(shell test "$$(id -u)" -eq 0 || echo sudo)
PROMTOOL ?= $(shell command -v promtool || echo .tools/promtool)

.PHONY: run urls test lint format schema install clean-data bench bench-realtime bench-spin bench-buy \
	bench-analytics bench-crash bench-liveops

$(STAMP): requirements.txt requirements-dev.txt constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q --upgrade pip
	$(PY) -m pip install --disable-pip-version-check -q -r requirements-dev.txt -c constraints.txt
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(PY) scripts/devstack.py run

# The running instance's URLs and logins again (one `make run` per checkout; a second one refuses).
urls:
	@$(PY) scripts/devstack.py urls

test: $(STAMP)
	$(PY) scripts/devstack.py exec --ephemeral -- $(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP) $(PROMTOOL)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(LINT_ENV) $(VENV)/bin/mypy .
	$(LINT_ENV) $(VENV)/bin/lint-imports
	$(LINT_ENV) $(PY) manage.py makemigrations --check --dry-run
	$(PROMTOOL) check rules monitoring/prometheus/alerts.yml
	$(PROMTOOL) check config --syntax-only monitoring/prometheus/prometheus.yml
	$(PY) monitoring/render_alerts.py --check monitoring/prometheus/alerts.yml

.tools/promtool:
	rm -rf .tools/deb && mkdir -p .tools/deb
	cd .tools/deb && { apt-get download prometheus 2>/dev/null \
		|| { $(SUDO) apt-get update -qq && apt-get download prometheus; }; }
	dpkg-deb -x .tools/deb/prometheus_*.deb .tools/deb/root
	cp .tools/deb/root/usr/bin/promtool .tools/promtool
	rm -rf .tools/deb
	.tools/promtool --version

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

schema: $(STAMP)
	$(PY) scripts/devstack.py exec --ephemeral -- $(PY) manage.py export_openapi

bench: $(STAMP)
	$(PY) bench/run.py $(BENCH_ARGS)

bench-realtime: $(STAMP)
	$(PY) bench/run.py --only sockets --players 1000 $(BENCH_ARGS)

# The shared crash round: 1,000 watching sockets, 200 bettors a round (bench/crash_live.py)
bench-crash: $(STAMP)
	$(PY) bench/crash_live.py $(BENCH_ARGS)

bench-spin: $(STAMP)
	$(PY) bench/spin.py $(BENCH_ARGS)

bench-buy: $(STAMP)
	$(PY) bench/spin.py --route buy $(BENCH_ARGS)

bench-analytics: $(STAMP)
	$(PY) bench/analytics.py $(BENCH_ARGS)

bench-liveops: $(STAMP)
	$(PY) bench/liveops_metrics.py $(BENCH_ARGS)

clean-data:
	rm -rf .data
