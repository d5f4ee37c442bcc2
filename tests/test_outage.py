"""The app stays up when its database doesn't: restarts, outages, locks, deploys.

Faults come from the real parts: a PostgreSQL cluster the tests own is restarted
and stopped under the app (in this process, then under gunicorn), connections are
cut with pg_terminate_backend, a SQLite file is locked by another connection, and
gunicorn gets SIGTERM while a slow SMTP server holds a message.
"""

import asyncio
import html
import logging
import re
import signal
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from app import db
from app.mail import outbox
from app.mail.models import OutboxMessage
from tests.conftest import PASSWORD, AuthActions, Inbox, wait_for
from tests.deployment import (
    RESET_SUBJECT,
    Browser,
    Mailbox,
    outbox_counts,
    query,
    stop_group,
    tail,
)

RETRY_AFTER = "30"
UNAVAILABLE_TEXT = "can't reach its database just now"
SIGNED_IN_PAGES = ["/index", "/explore", "/user/susan", "/edit_profile"]


def assert_outage_page(response):
    """A 503 on the app's own layout, with Retry-After, that loaded no user."""
    assert response.status_code == 503, response.status_code
    assert response.headers["Retry-After"] == RETRY_AFTER
    page = html.unescape(response.get_data(as_text=True))
    assert UNAVAILABLE_TEXT in page
    assert 'class="navbar-brand"' in page and "Skip to content" in page
    assert "Sign out" not in page  # the navigation did not need the user


def outage_lines(text: str) -> list[str]:
    """The app's one-line reports of requests the database could not serve."""
    return [line for line in text.splitlines() if "Database unavailable on" in line]


@pytest.fixture
def pg_app(make_app, cluster):
    """The app on a database in the test-owned cluster, with susan signed up."""
    app = make_app(SQLALCHEMY_DATABASE_URI=cluster.create_database())
    with app.app_context():
        from app.models import User

        user = User(username="susan", email="susan@example.org")
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.commit()
    return app


def signed_in(app):
    """A client signed in as susan."""
    client = app.test_client()
    assert AuthActions(client).login().headers["Location"] == "/index"
    return client


def test_restart_is_invisible(pg_app, cluster):
    client = signed_in(pg_app)
    for path in SIGNED_IN_PAGES:
        assert client.get(path).status_code == 200
    cluster.restart()
    # Every pooled connection is dead now; each is pinged and replaced.
    for path in SIGNED_IN_PAGES:
        assert client.get(path).status_code == 200, path
    response = client.post("/index", data={"post": "still here"})
    assert response.status_code == 302


def test_idle_connection_cut_is_invisible(pg_app, cluster):
    client = signed_in(pg_app)
    with pg_app.app_context():
        # Several idle pooled connections, as a busy worker holds.
        connections = [db.engine.connect() for _ in range(3)]
        for connection in connections:
            connection.execute(sa.text("SELECT 1"))
        for connection in connections:
            connection.close()
    admin = sa.create_engine(cluster.url(), poolclass=sa.NullPool)
    with admin.connect() as connection:
        cut = connection.execute(
            sa.text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"
            ),
            {"name": sa.make_url(pg_app.config["SQLALCHEMY_DATABASE_URI"]).database},
        ).scalar()
    admin.dispose()
    assert cut >= 1
    for path in SIGNED_IN_PAGES:
        assert client.get(path).status_code == 200, path


def test_outage_answers_503_and_loses_nothing(pg_app, cluster, caplog):
    client = signed_in(pg_app)
    stranger = pg_app.test_client()
    stranger.get("/login")  # the stored blank sign-in page exists
    cluster.stop()
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        for path in SIGNED_IN_PAGES:
            assert_outage_page(client.get(path))
        posts = [
            (client, "/index", {"post": "lost?"}),
            (stranger, "/login", {"username": "susan", "password": PASSWORD}),
            (stranger, "/reset_password_request", {"email": "susan@example.org"}),
            (
                stranger,
                "/register",
                {
                    "username": "nina",
                    "email": "nina@example.org",
                    "password": "nina original pass 1",
                    "password2": "nina original pass 1",
                },
            ),
        ]
        for visitor, path, data in posts:
            assert_outage_page(visitor.post(path, data=data))
        health = stranger.get("/healthz")
        # A stored blank page needs no database and may keep serving.
        assert stranger.get("/login").status_code == 200
    assert health.status_code == 503 and health.headers["Retry-After"] == RETRY_AFTER
    lines = outage_lines(caplog.text)
    assert len(lines) == len(SIGNED_IN_PAGES) + len(posts)
    assert all("OperationalError" in line for line in lines)
    assert "Traceback" not in caplog.text
    assert not any(record.exc_info for record in caplog.records)

    cluster.start()
    assert stranger.get("/healthz").status_code == 200
    for path in SIGNED_IN_PAGES:
        assert client.get(path).status_code == 200
    with pg_app.app_context():
        # Refused, not half-done: nothing from the outage was stored.
        assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 0
        assert "lost?" not in client.get("/index").get_data(as_text=True)
        assert "nina" not in client.get("/explore").get_data(as_text=True)


def test_outage_keeps_a_signed_in_readers_language_and_files(pg_app, cluster):
    with pg_app.app_context():
        db.session.execute(sa.text("UPDATE \"user\" SET locale = 'zh_Hant_TW'"))
        db.session.commit()
    client = signed_in(pg_app)
    cluster.stop()
    page = client.get("/index")
    assert page.status_code == 503
    assert '<html lang="zh-Hant-TW">' in page.get_data(as_text=True)
    assert client.get("/static/style.css").status_code == 200
    health = client.get("/healthz")
    assert (health.status_code, health.get_data(as_text=True)) == (
        503,
        "database unavailable\n",
    )


def test_healthz_is_tiny_and_private(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "ok\n"
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"


def test_healthz_is_not_rate_limited(make_app):
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_DEFAULT="2/minute")
    client = app.test_client()
    assert [client.get("/healthz").status_code for _ in range(5)] == [200] * 5


def test_locked_sqlite_answers_503_then_works(make_app, make_user, tmp_path):
    path = tmp_path / "locked.db"
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}", DATABASE_BUSY_TIMEOUT=1)
    make_user()
    reader, stranger = signed_in(app), app.test_client()
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    reset = {"email": "susan@example.org"}
    try:
        started = time.monotonic()
        assert_outage_page(stranger.post("/reset_password_request", data=reset))
        assert time.monotonic() - started < 5
        assert reader.get("/explore").status_code == 200  # readers still read
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    response = stranger.post("/reset_password_request", data=reset)
    assert response.headers["Location"] == "/login"
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 1


# --- The senders ------------------------------------------------------------


@pytest.fixture
def fast_polling(monkeypatch):
    """Senders poll every 0.1 s instead of 5 s, so an outage spans many passes."""
    monkeypatch.setattr(outbox, "POLL_SECONDS", 0.1)


def sender_thread(app):
    """Run the delivery loop in a thread; returns its stop event."""
    stop = threading.Event()
    thread = threading.Thread(target=outbox.run_forever, args=(app, stop))
    thread.start()
    stop.thread = thread
    return stop


def queue_mail(app, count=1):
    """Queue count plain messages."""
    from app.mail.compose import send_email

    with app.app_context():
        for number in range(count):
            send_email(f"Queued {number}", ["a@example.org"], "body", "<p>body</p>")
        db.session.commit()


def test_sender_waits_out_an_outage_with_one_line(
    make_app, cluster, smtp_server, fast_polling, caplog
):
    app = make_app(
        SQLALCHEMY_DATABASE_URI=cluster.create_database(),
        MAIL_DELIVERY="worker",
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=smtp_server.port,
    )
    queue_mail(app)  # queued before the outage, with nobody sending yet
    cluster.stop()
    with caplog.at_level(logging.WARNING, logger="app.mail.outbox"):
        stop = sender_thread(app)
        try:
            time.sleep(1.5)  # many passes against a dead database
            waiting = [r for r in caplog.records if "mail waits" in r.getMessage()]
            assert len(waiting) == 1
            assert not any(record.exc_info for record in caplog.records)
            cluster.start()
            assert wait_for(lambda: len(smtp_server.messages) == 1, 10)
            assert wait_for(lambda: "Database is back" in caplog.text, 5)
        finally:
            stop.set()
            stop.thread.join(10)
    time.sleep(0.3)
    assert len(smtp_server.messages) == 1
    with app.app_context():
        assert db.session.scalars(sa.select(OutboxMessage.status)).all() == ["sent"]


class HeldInbox(Inbox):
    """Keeps each message in DATA until released: a slow mail server."""

    def __init__(self):
        super().__init__()
        self.in_data = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        """Signal that a message is in DATA, then wait to be released."""
        self.in_data.set()
        while not self.release.is_set():
            await asyncio.sleep(0.02)
        return await super().handle_DATA(server, session, envelope)


def test_mail_accepted_while_the_database_is_down_is_not_sent_twice(
    make_app, cluster, start_smtp, fast_polling
):
    inbox = start_smtp(HeldInbox())
    app = make_app(
        SQLALCHEMY_DATABASE_URI=cluster.create_database(),
        MAIL_DELIVERY="worker",
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=inbox.port,
    )
    queue_mail(app)
    stop = sender_thread(app)
    try:
        assert inbox.in_data.wait(10)
        cluster.stop()  # the server has the message; the database goes away
        inbox.release.set()
        time.sleep(0.5)
        cluster.start()
        with app.app_context():

            def recorded():
                db.session.rollback()
                statuses = db.session.scalars(sa.select(OutboxMessage.status)).all()
                return statuses == ["sent"]

            assert wait_for(recorded, 10), "the accepted message was never recorded"
            # Its lease is irrelevant now: it is sent, so nobody claims it again.
            assert outbox.retry_failed() == 0
    finally:
        stop.set()
        stop.thread.join(10)
    assert len(inbox.messages) == 1


# --- Under gunicorn ---------------------------------------------------------


def visitor_signed_in(base_url: str) -> Browser:
    """A visitor who registered as susan and is signed in."""
    browser = Browser(base_url)
    fields = {
        "username": "susan",
        "email": "susan@example.org",
        "password": PASSWORD,
        "password2": PASSWORD,
    }
    assert browser.submit("/register", fields)[0] == 302
    status, _, location = browser.submit(
        "/login", {"username": "susan", "password": PASSWORD}
    )
    assert (status, location) == (302, "/index")
    return browser


def test_gunicorn_rides_out_a_restart_and_an_outage(deploy, cluster, start_smtp):
    mailbox = start_smtp(Mailbox(only=RESET_SUBJECT))
    database = cluster.create_database()
    app = deploy(database, mailbox.port, MAIL_DELIVERY="worker")
    app.start()
    susan = visitor_signed_in(app.base_url)

    def statuses(browser, count=40):
        with ThreadPoolExecutor(4) as pool:
            paths = [SIGNED_IN_PAGES[n % 4] for n in range(count)]
            return [r[0] for r in pool.map(browser.get, paths)]

    assert set(statuses(susan)) == {200}  # every worker holds pooled connections
    stranger = Browser(app.base_url)
    reset = {"email": "susan@example.org"}
    assert stranger.submit("/reset_password_request", reset)[0] == 302
    assert outbox_counts(database) == {"pending": 1}  # no sender runs yet

    cluster.restart()
    assert set(statuses(susan)) == {200}, "a request failed after the restart"

    stranger.get("/reset_password_request")  # a form with a token, before the outage
    cluster.stop()
    for path in SIGNED_IN_PAGES:
        status, page, _ = susan.get(path)
        assert status == 503 and "navbar-brand" in page
        assert UNAVAILABLE_TEXT in html.unescape(page)
    assert stranger.submit("/reset_password_request", reset)[0] == 503
    assert stranger.get("/healthz")[0] == 503
    worker = app.start_worker()  # a mail worker starting into the outage
    time.sleep(2)

    cluster.start()
    assert set(statuses(susan)) == {200}
    assert stranger.get("/healthz") == (200, "ok\n", "")
    assert wait_for(lambda: len(mailbox.messages) == 1, 20), tail(worker.log)
    stop_group(worker)
    assert outbox_counts(database) == {"sent": 1}  # the refused request left nothing

    logs = app.logs()
    assert "Traceback" not in logs, logs[-3000:]
    worker_log = worker.log.read_text()
    assert worker_log.count("Database unavailable; mail waits") == 1, worker_log
    assert len(outage_lines(logs)) >= len(SIGNED_IN_PAGES) + 1


def test_sigterm_finishes_the_message_in_hand(deploy, start_smtp, tmp_path):
    inbox = start_smtp(HeldInbox())
    database = f"sqlite:///{tmp_path / 'microblog.db'}"
    app = deploy(database, inbox.port, MAIL_DELIVERY="thread")
    server = app.start()
    fields = {
        "username": "nina",
        "email": "nina@example.org",
        "password": "nina original pass 1",
        "password2": "nina original pass 1",
    }
    # Signing up queues the confirmation, which the thread starts sending.
    assert Browser(app.base_url).submit("/register", fields)[0] == 302
    assert inbox.in_data.wait(20), "no delivery started"

    server.send_signal(signal.SIGTERM)  # a deploy restarts gunicorn now
    time.sleep(1)
    inbox.release.set()  # the slow server answers within the graceful timeout
    server.wait(20)
    assert server.returncode == 0, tail(server.log)
    assert len(inbox.messages) == 1
    sent = outbox_counts(database, kind="confirm_email")
    assert sent == {"sent": 1}, tail(server.log)

    app.start()  # after the deploy: nothing goes out a second time
    time.sleep(2)
    assert len(inbox.messages) == 1


def test_sigterm_lets_a_request_in_flight_finish(deploy, smtp_server, tmp_path):
    path = tmp_path / "microblog.db"
    app = deploy(f"sqlite:///{path}", smtp_server.port, MAIL_DELIVERY="worker")
    server = app.start()
    visitor = Browser(app.base_url)
    status, page, _ = visitor.get("/reset_password_request")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # the request will wait for this lock
    with ThreadPoolExecutor(1) as pool:
        data = {"csrf_token": token, "email": "nina@example.org"}
        pending = pool.submit(visitor.request, "/reset_password_request", data)
        time.sleep(1)
        server.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        blocker.execute("ROLLBACK")
        blocker.close()
        assert pending.result(timeout=20)[0] == 302
    server.wait(20)
    assert query(f"sqlite:///{path}", "SELECT count(*) FROM outbox") == [(1,)]


# --- Plain HTTP ---------------------------------------------------------------


def test_plain_http_first_run_can_register_and_sign_in(deploy, smtp_server, tmp_path):
    database = f"sqlite:///{tmp_path / 'microblog.db'}"
    # As an operator's first try: no cookie setting at all, the scheme says http.
    app = deploy(database, smtp_server.port, SESSION_COOKIE_SECURE="")
    app.start()
    visitor_signed_in(app.base_url)


def test_secure_cookies_over_plain_http_say_why_forms_fail(
    deploy, smtp_server, tmp_path
):
    database = f"sqlite:///{tmp_path / 'microblog.db'}"
    app = deploy(
        database,
        smtp_server.port,
        SESSION_COOKIE_SECURE="",
        PREFERRED_URL_SCHEME="https",
    )
    app.start()
    status, page, _ = Browser(app.base_url).submit(
        "/login", {"username": "susan", "password": PASSWORD}
    )
    assert status == 400
    assert "plain HTTP" in page and "PREFERRED_URL_SCHEME=http" in page
    assert "the session cookie is sent over HTTPS only" in app.logs()


def test_cookie_security_follows_the_scheme(make_app):
    settings = {"SESSION_COOKIE_SECURE": None, "REMEMBER_COOKIE_SECURE": None}
    plain = make_app(PREFERRED_URL_SCHEME="http", **settings)
    assert plain.config["SESSION_COOKIE_SECURE"] is False
    assert plain.config["REMEMBER_COOKIE_SECURE"] is False
    secure = make_app(PREFERRED_URL_SCHEME="https", **settings)
    assert secure.config["SESSION_COOKIE_SECURE"] is True
    assert secure.config["REMEMBER_COOKIE_SECURE"] is True
    explicit = make_app(
        PREFERRED_URL_SCHEME="https",
        SESSION_COOKIE_SECURE=False,
        REMEMBER_COOKIE_SECURE=None,
    )
    assert explicit.config["REMEMBER_COOKIE_SECURE"] is False


def test_form_over_plain_http_with_secure_cookies_says_why(make_app, caplog):
    settings = {"SESSION_COOKIE_SECURE": True, "REMEMBER_COOKIE_SECURE": True}
    app = make_app(WTF_CSRF_ENABLED=True, **settings)
    client = app.test_client()
    plain = "http://app.example.com"
    page = client.get("/login", base_url=plain).get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    client.delete_cookie("session", domain="app.example.com")  # a browser's choice
    with caplog.at_level(logging.WARNING):
        data = {"csrf_token": token, "username": "x"}
        response = client.post("/login", data=data, base_url=plain)
    assert response.status_code == 400
    assert "came over plain HTTP" in html.unescape(response.get_data(as_text=True))
    assert "the session cookie is sent over HTTPS only" in caplog.text
    # Over HTTPS the same missing cookie is just an expired form.
    response = client.post(
        "/login", data={"csrf_token": token}, base_url="https://app.example.com"
    )
    assert "The form expired" in response.get_data(as_text=True)
