"""A username is one name in any case, held by one account: the database says so."""

import html
import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from app import db, forms
from app.models import User
from tests.conftest import BASE_DATABASE_URL, PASSWORD
from tests.deployment import Browser

TAKEN = "That username is taken; please choose another."


@pytest.fixture
def served(make_app, database_url, tmp_path):
    """The app behind a real threaded HTTP server, on a database two requests
    really share (SQLite in a file, not one in-memory connection); its base URL."""
    if database_url.startswith("sqlite"):
        database_url = f"sqlite:///{tmp_path / 'race.db'}"
    app = make_app(SQLALCHEMY_DATABASE_URI=database_url)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def race(monkeypatch):
    """The form's uniqueness check lets two requests through, both having found
    the name free, before either writes: their commits then race in the database."""
    barrier = threading.Barrier(2, timeout=20)
    real = forms.username_taken

    def checked_then_wait(username):
        taken = real(username)
        barrier.wait()
        return taken

    monkeypatch.setattr(forms, "username_taken", checked_then_wait)

    def run(*requests):
        with ThreadPoolExecutor(len(requests)) as pool:
            return list(pool.map(lambda send: send(), requests))

    return run


def error_under(page: str, field: str) -> str | None:
    """The error shown under field's input on page, or None."""
    match = re.search(rf'<div id="{field}-error"[^>]*>(.*?)</div>', page, re.S)
    return html.unescape(match.group(1)).strip() if match else None


def names(app) -> list[str]:
    """Every account's username, in id order."""
    with app.app_context():
        return list(db.session.scalars(sa.select(User.username).order_by(User.id)))


def registration(username: str, number: int) -> dict:
    """A valid sign-up form for username."""
    email = f"racer{number}@example.org"
    return {"username": username, "email": email, "password": PASSWORD} | {
        "password2": PASSWORD
    }


@pytest.mark.parametrize("first, second", [("Susan", "susan"), ("susan", "susan")])
def test_racing_sign_ups_for_one_name_one_wins(served, race, first, second):
    """Two sign-ups racing for one name: one account; the other sees "taken"."""
    app, base_url = served
    results = race(
        *(
            lambda name=name, n=n: Browser(base_url).request(
                "/register", registration(name, n)
            )
            for n, name in enumerate([first, second])
        )
    )
    statuses = sorted(status for status, _, _ in results)
    assert statuses == [200, 302], results
    lost = next(page for status, page, _ in results if status == 200)
    assert error_under(lost, "username") == TAKEN
    assert len(names(app)) == 1
    assert names(app)[0].lower() == "susan"


def test_racing_renames_to_one_name_one_wins(served, race, make_user):
    """Two people renaming themselves to one name: one gets it, one sees "taken"."""
    app, base_url = served
    make_user("john")
    make_user("mary")
    browsers = {}
    for name in ("john", "mary"):
        browsers[name] = Browser(base_url)
        status, _, _ = browsers[name].request(
            "/login", {"username": name, "password": PASSWORD}
        )
        assert status == 302
    results = race(
        lambda: browsers["john"].request("/edit_profile", {"username": "Bob"}),
        lambda: browsers["mary"].request("/edit_profile", {"username": "bob"}),
    )
    statuses = sorted(status for status, _, _ in results)
    assert statuses == [200, 302], results
    lost = next(page for status, page, _ in results if status == 200)
    assert error_under(lost, "username") == TAKEN
    held = names(app)
    assert sorted(name.lower() for name in held) in (["bob", "mary"], ["bob", "john"])


def test_sign_in_lookup_uses_the_folded_index(app, auth, make_user):
    """The index that keeps names unique is the one sign-in reads."""
    make_user("susan")
    statements = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        if "lower(" in statement.lower():
            statements.append((statement, parameters))

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", keep)
    try:
        response = auth.login("SUSAN")
    finally:
        sa.event.remove(engine, "before_cursor_execute", keep)
    assert response.headers["Location"] == "/index"
    [(statement, parameters)] = statements
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            explain = "EXPLAIN QUERY PLAN "
        else:
            # A table of one row is cheaper to scan: ask whether the index can serve.
            connection.exec_driver_sql("SET enable_seqscan = off")
            explain = "EXPLAIN "
        plan = connection.exec_driver_sql(explain + statement, parameters).all()
    assert "ix_user_username_folded" in " ".join(str(row) for row in plan)


@pytest.mark.parametrize("typed", ["Émile", "émile"])
def test_a_name_beyond_ascii_signs_in_as_the_database_folds_it(auth, make_user, typed):
    """Both sides fold in the database, so a name always finds itself (SQLite's
    lower() leaves "É" alone; Python's would not, and "Émile" could never sign in)."""
    make_user("Émile", email="emile@example.org")
    response = auth.login(typed)
    if typed == "Émile" or sa.make_url(BASE_DATABASE_URL).get_backend_name() != (
        "sqlite"
    ):
        assert response.headers["Location"] == "/index"
    else:
        assert response.status_code == 200  # SQLite: another name there
