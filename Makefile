# `make run` serves the app for development; `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := microblog.py
# The suite runs twice: on SQLite, then on a fresh database in this PostgreSQL server.
TEST_POSTGRES_URL ?= postgresql+psycopg://root@127.0.0.1:5432/postgres
# Catalog options shared by `make translations` and tests/test_i18n.py.
EXTRACT := -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output --project microblog
UPDATE := --no-fuzzy-matching --ignore-obsolete --width 88 --ignore-pot-creation-date

.PHONY: run test bench format install install-dev clean translations

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/activate
	$(BIN)/pip install --quiet -r requirements.txt

# Extract every string to translate, bring the catalogs up to date and compile
# them; then translate what is new in app/translations/*/LC_MESSAGES/messages.po
# and run this again. The compiled .mo files are committed beside their .po.
translations: install
	$(BIN)/pybabel extract $(EXTRACT) -o app/translations/messages.pot .
	$(BIN)/pybabel update $(UPDATE) -i app/translations/messages.pot -d app/translations
	$(BIN)/pybabel compile --statistics -d app/translations

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
		--ignore=tests/browser --ignore=tests/test_deploy.py --ignore=tests/test_outage.py \
		--ignore=tests/test_as_installed.py

format: install-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .coverage htmlcov

bench: install-dev
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/pip install --quiet -r requirements-bench.txt
	$(BIN)/python -m bench
