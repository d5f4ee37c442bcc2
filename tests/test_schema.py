"""A database behind the migrations says so: /healthz, pages, the log, the sender."""

import html
import logging
import threading
import time

import flask_migrate
import pytest
import sqlalchemy as sa

from app import create_app, db
from app.health import migrations
from app.mail import outbox
from tests.conftest import PASSWORD, TestConfig, free_port, wait_for
from tests.test_migrations import MIGRATIONS, migrated_to

HEAD = migrations(MIGRATIONS).get_current_head()
PREVIOUS = migrations(MIGRATIONS).get_revision(HEAD).down_revision
EMPTY_LINE = f"schema at none, code needs {HEAD}: run flask db upgrade"
UPDATING = "The site is being updated. Please try again in a few minutes."
UPDATING_ZH = "網站正在更新，請過幾分鐘再試。"
SIGN_UP = {
    "username": "nina",
    "email": "nina@example.org",
    "password": PASSWORD,
    "password2": PASSWORD,
}


def health(app):
    """/healthz's status and body."""
    response = app.test_client().get("/healthz")
    return response.status_code, response.get_data(as_text=True)


def app_lines(caplog):
    """What the app itself logged."""
    return [record.getMessage() for record in caplog.records if record.name == "app"]


def built(url, **settings):
    """An app made by the factory alone: no tables made, nothing stamped."""
    config = type("Config", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": url, **settings})
    return create_app(config)


def test_empty_database_fails_healthz_naming_the_fix(make_app, database_url, tmp_path):
    """No `flask db upgrade` yet: 503 saying the schema is at none."""
    app = migrated_to(make_app, database_url, tmp_path, None)
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_data(as_text=True) == EMPTY_LINE + "\n"
    assert response.headers["Retry-After"] == "30"


def test_one_migration_behind_names_both_then_heals(make_app, database_url, tmp_path):
    """A revision behind: 503 naming it and the head; 200 once upgraded."""
    app = migrated_to(
        make_app, database_url, tmp_path, PREVIOUS, SCHEMA_RECHECK_SECONDS=0
    )
    line = f"schema at {PREVIOUS}, code needs {HEAD}: run flask db upgrade\n"
    assert health(app) == (503, line)
    with app.app_context():
        flask_migrate.upgrade()  # the factory's own migrations folder
    assert health(app) == (200, "ok\n")


def test_revision_is_reread_at_most_every_recheck_seconds(
    make_app, database_url, tmp_path
):
    """Within SCHEMA_RECHECK_SECONDS /healthz answers from memory, then rereads."""
    app = migrated_to(
        make_app, database_url, tmp_path, PREVIOUS, SCHEMA_RECHECK_SECONDS=2
    )
    reads = []
    with app.app_context():
        engine = db.engine

    def count(connection, cursor, statement, *args):
        if statement.startswith("SELECT alembic_version.version_num"):
            reads.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        assert [health(app)[0] for _ in range(5)] == [503] * 5
        assert len(reads) == 1
        with engine.begin() as connection:  # what `flask db upgrade` ends with
            connection.execute(
                sa.text("UPDATE alembic_version SET version_num = :head"),
                {"head": HEAD},
            )
        assert health(app)[0] == 503  # still the answer read a moment ago
        assert wait_for(lambda: health(app)[0] == 200, 5)
        assert len(reads) == 2
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_unreachable_database_fails_healthz_and_start_up_survives(kind, caplog):
    """No database at all: start-up goes on, /healthz says "database unavailable"."""
    url = {
        "sqlite": "sqlite:////nonexistent-folder/microblog.db",
        "postgresql": f"postgresql+psycopg://root@127.0.0.1:{free_port()}/postgres",
    }[kind]
    with caplog.at_level(logging.WARNING, logger="app"):
        app = built(url, SCHEMA_CHECK_AT_START=True)
    assert "Database unavailable at start-up: OperationalError" in caplog.text
    assert health(app) == (503, "database unavailable\n")
    with app.app_context():
        db.engine.dispose()


def test_start_up_says_once_that_the_schema_is_behind(
    make_app, database_url, tmp_path, caplog
):
    """A serving process logs the schema line at start-up, once; at head, nothing."""
    empty = migrated_to(make_app, database_url, tmp_path, None)
    url = empty.config["SQLALCHEMY_DATABASE_URI"]
    with caplog.at_level(logging.WARNING, logger="app"):
        app = built(url, SCHEMA_CHECK_AT_START=True)
        make_app.built.append(app)  # torn down with the others
        for _ in range(3):
            assert health(app)[0] == 503
    assert app_lines(caplog) == [EMPTY_LINE]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="app"):
        make_app(SQLALCHEMY_DATABASE_URI=url)  # builds the tables and stamps head
        app = built(url, SCHEMA_CHECK_AT_START=True)
        make_app.built.append(app)
    assert app_lines(caplog) == []
    assert health(app) == (200, "ok\n")


def test_forms_on_an_empty_database_say_the_site_is_being_updated(
    make_app, database_url, tmp_path, caplog
):
    """503 "being updated" in English and Chinese; the log names the schema."""
    app = migrated_to(make_app, database_url, tmp_path, None)
    client = app.test_client()
    with caplog.at_level(logging.WARNING, logger="app"):
        english = client.post("/register", data=SIGN_UP)
        chinese = client.post(
            "/login",
            data={"username": "nina", "password": PASSWORD},
            headers={"Accept-Language": "zh-TW"},
        )
    for response, text in ((english, UPDATING), (chinese, UPDATING_ZH)):
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "30"
        page = html.unescape(response.get_data(as_text=True))
        assert text in page
        assert "can't reach its database" not in page
        assert "網站暫時連不上資料庫" not in page
    assert 'class="navbar-brand"' in chinese.text
    assert f"Database not migrated on POST /register: {EMPTY_LINE}" in caplog.text
    assert f"Database not migrated on POST /login: {EMPTY_LINE}" in caplog.text
    assert "Database unavailable" not in caplog.text
    assert not any(record.exc_info for record in caplog.records)


def test_a_missing_column_says_being_updated_and_other_errors_stay_500(
    make_app, database_url, tmp_path
):
    """A column a later migration adds: 503 "being updated"; a bad query: 500."""
    app = migrated_to(
        make_app,
        database_url,
        tmp_path,
        "0d1fbee618d3",  # before accounts had a language (user.locale)
        PROPAGATE_EXCEPTIONS=False,
    )

    @app.route("/bad-query")
    def bad_query():
        raise sa.exc.ProgrammingError("SELEC 1", {}, Exception("syntax error"))

    client = app.test_client()
    response = client.post("/login", data={"username": "nina", "password": PASSWORD})
    assert response.status_code == 503
    assert UPDATING in html.unescape(response.get_data(as_text=True))
    assert client.get("/bad-query").status_code == 500


def test_sender_says_the_schema_is_behind_once(
    make_app, database_url, tmp_path, monkeypatch, caplog
):
    """The mail sender on an empty database: one schema line, not "unavailable"."""
    app = migrated_to(make_app, database_url, tmp_path, None, MAIL_DELIVERY="worker")
    monkeypatch.setattr(outbox, "POLL_SECONDS", 0.1)
    stop = threading.Event()
    thread = threading.Thread(target=outbox.run_forever, args=(app, stop))
    with caplog.at_level(logging.WARNING, logger="app"):
        thread.start()
        try:
            time.sleep(1)  # many passes against the missing outbox table
        finally:
            stop.set()
            thread.join(10)
    waiting = [r.getMessage() for r in caplog.records if "mail waits" in r.getMessage()]
    assert waiting == [f"Database not migrated; mail waits: {EMPTY_LINE}"]
    assert "Database unavailable" not in caplog.text
    assert not any(record.exc_info for record in caplog.records)
