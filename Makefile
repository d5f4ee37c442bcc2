# `make run` serves the app for development; `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := microblog.py
# The suite runs twice: on SQLite, then on a fresh database in this PostgreSQL server.
TEST_POSTGRES_URL ?= postgresql+psycopg://root@127.0.0.1:5432/postgres

.PHONY: run test bench format install install-dev clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/activate
	$(BIN)/pip install --quiet -r requirements.txt

install-dev: $(BIN)/activate
	$(BIN)/pip install --quiet -r requirements-dev.txt

run: install
	$(BIN)/flask --debug db upgrade
	$(BIN)/flask --debug run --host 127.0.0.1 --port 5000

test: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	tests/browser/install_browser.sh
	$(BIN)/pytest --cov --cov-report=
	TEST_DATABASE_URL=$(TEST_POSTGRES_URL) $(BIN)/pytest --cov --cov-append \
		--cov-report=term-missing:skip-covered --cov-fail-under=90 \
		--ignore=tests/browser --ignore=tests/test_deploy.py --ignore=tests/test_outage.py

format: install-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .coverage htmlcov

bench: install-dev
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/pip install --quiet -r requirements-bench.txt
	$(BIN)/python -m bench
