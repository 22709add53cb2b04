# seetf: `make run` serves a demo on http://127.0.0.1:8000, `make test` runs every test.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint migrate demo worker beat schema fuzz clean messages

$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt -c constraints.txt
	touch $@

# Also compiles the translation catalogues (locale/*/LC_MESSAGES/*.po to .mo, never
# committed) in pure Python (babel): no GNU gettext needed; no catalogue is no error.
install: $(VENV)/.installed
	$(PY) -m seetf.common.catalogues compile

# The catalogues regenerated from the code (README "Languages"): Django's makemessages for
# es, fr, pt, ru, zh_Hans and ar, the django and djangojs domains, file names without line
# numbers, no obsolete entries, unwrapped (options: seetf/common/catalogues.py). Needs GNU
# gettext (Debian: apt-get install gettext).
messages: install
	DJANGO_SETTINGS_MODULE=seetf.settings.local $(PY) -m seetf.common.catalogues messages

migrate: install
	$(PY) manage.py migrate --noinput

# The embedded demo: SQLite, eager Celery, console e-mail, review data, demo users.
# HOST and PORT go to the settings too: the e-mails' links (SITE_URL) point where it serves.
run: export DEBUG ?= 1
run: export SEETF_DEMO ?= 1
run: export HOST := $(HOST)
run: export PORT := $(PORT)
run: migrate
	$(PY) manage.py load_review_2011
	$(PY) manage.py create_demo_users
	$(PY) manage.py runserver $(HOST):$(PORT)

# One pytest worker per core (pytest-xdist), each with a database of its own;
# TEST_WORKERS=0 runs the suite in one process.
TEST_WORKERS ?= auto
test: install
	$(PY) -m pytest -n $(TEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

# ruff, and the import contracts of pyproject.toml (layers, no cycles).
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

# Real Celery processes (set CELERY_BROKER_URL, e.g. redis://127.0.0.1:6379/0), on the local
# settings as `manage.py` (Celery on its own starts with the production settings).
worker beat: export DJANGO_SETTINGS_MODULE ?= seetf.settings.local
worker: install
	$(VENV)/bin/celery -A seetf worker --loglevel=INFO

beat: install
	$(VENV)/bin/celery -A seetf beat --loglevel=INFO

# A longer API fuzz run than the one in `make test` (schemathesis, every phase: 300
# examples per operation, every coverage case, 200 stateful scenarios; derandomized).
fuzz: install
	SEETF_FUZZ_EXAMPLES=300 SEETF_FUZZ_COVERAGE=0 SEETF_FUZZ_SCENARIOS=200 SEETF_FUZZ_STEPS=12 \
		$(PY) -m pytest -m fuzz tests/test_api_fuzz.py

schema: install
	DEBUG=1 $(PY) manage.py spectacular --file schema.yml --validate

clean:
	rm -rf $(VENV) db.sqlite3* .test-db.sqlite3* staticfiles .pytest_cache .hypothesis

# The benchmark (not part of `make test`; about a quarter of an hour): portfolios of 2,000
# and 20,000 grants on PostgreSQL (BENCH_DATABASE_URL, default the local seetf_bench, which
# it recreates), served by gunicorn and driven by wrk (installed if missing); prints a
# table and writes bench/results/. See README "Performance".
.PHONY: bench
bench: install
	bench/run
