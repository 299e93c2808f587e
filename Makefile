# Doppel: the two commands are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
CORPUS ?= ../shared/corpus
export DEBUG ?= 1

.PHONY: install run demo test accuracy bench lint mutate migrations-reset clean

$(STAMP): requirements.txt requirements-demo.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Doppel needs Python 3.11, found " + sys.version)'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

## Embedded default: SQLite, local demo collection, UI on http://127.0.0.1:8000, jobs in a
## background Celery worker (SQLite broker in var/) that starts and stops with the web server.
run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py doppel_demo
	@echo "Doppel is at http://$(HOST):$(PORT)/  (Ctrl-C stops the server and the worker)"
	$(PY) manage.py doppel_run --host $(HOST) --port $(PORT)

demo: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py doppel_demo

## Tests. Under CI=true they use PostgreSQL, Redis, a Celery worker, moto's S3 server and Chromium.
test: install
	@if [ "$${CI:-}" = "true" ] && [ ! -x /usr/bin/chromium ]; then \
		echo "installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi
	$(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

## The engine's accuracy gates: the generated look-alike corpus always; ../shared/corpus dev and
## hostile where present (under CI=true a missing corpus fails). Then the same look-alikes with every
## tolerance 20 % looser must FAIL: proof that the gate bites.
accuracy: install
	$(PY) bench/accuracy.py --default-corpus $(CORPUS) $(ACCURACY_ARGS)
	@echo "== every tolerance 1.2x looser: the look-alike gate must fail"
	@out=$$($(PY) bench/accuracy.py --lookalikes-only --no-baseline --loosen 1.2 2>/dev/null); rc=$$?; \
	if [ $$rc -eq 0 ]; then echo "a 20% looser engine still passes the look-alike gate: the corpus does not bite"; exit 1; fi; \
	if ! echo "$$out" | grep -Eq '^\| lookalikes \| engine .*\| FAIL \|$$'; then \
		echo "the loosened run did not get to its gate (exit $$rc): $$out" | tail -20; exit 1; fi; \
	echo "ok: a 20% looser engine fails the look-alike gate"

bench: install
	@set -e; for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b; done

## Mutation testing of one safety module (not in .ci/run: minutes to hours); e.g.
## make mutate MODULE=verdict|storage|review|deletion MUTANTS='matching.verdict.x_holds_at_least_as_much*' (see README, Mutation testing)
MODULE ?= verdict
MUTANTS ?=
mutate: install
	$(PY) bench/mutate.py $(MODULE) $(MUTANTS)

## Lint: ruff (errors, import order) on the engine, the app and tools; mypy on the engine,
## the services and storage; the layer contracts (import-linter, pyproject.toml) and where imports stand
## (tools/check_imports.py); the Dockerfile. Settings are in pyproject.toml.
LINT_PATHS := matching reviewapp tools
lint: install
	$(VENV)/bin/ruff check $(LINT_PATHS)
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(PY) tools/check_imports.py
	$(VENV)/bin/hadolint Dockerfile

## Before the first release the schema is one migration; regenerate it after model changes.
migrations-reset: install
	rm -f reviewapp/migrations/0*.py
	$(PY) manage.py makemigrations reviewapp

clean:
	rm -rf var staticfiles .pytest_cache
