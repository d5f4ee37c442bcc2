"""Outbox delivery under faults, through real SMTP servers on loopback."""

import asyncio
import logging
import socket
import threading
import time
from datetime import timedelta
from email import message_from_bytes, policy

import pytest
import sqlalchemy as sa

from app import db
from app.mail import outbox
from app.mail.compose import queue, send_email
from app.mail.models import OutboxMessage
from app.mail.outbox import ErrorMailHandler, claim_due, deliver_due
from app.models import User, as_utc, utcnow
from tests.conftest import PASSWORD, free_port, wait_for

ADDRESS = "susan@example.org"


class Mailbox:
    """An aiosmtpd handler that records mail, or answers with a chosen reply."""

    def __init__(self, rcpt_reply=None, data_reply=None, data_delay=0.0):
        self.rcpt_reply = rcpt_reply
        self.data_reply = data_reply
        self.data_delay = data_delay
        self.messages = []
        self.attempts = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        """Accept the recipient, unless told to refuse it."""
        self.attempts += 1
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        """Keep the message, after an optional (bounded) delay, unless refusing."""
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        if self.data_reply:
            return self.data_reply
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        self.messages.append((envelope.rcpt_tos, message))
        return "250 Message accepted for delivery"


@pytest.fixture
def hung_server():
    """A TCP server that accepts connections and never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.1)
    stop = threading.Event()
    accepted = []

    def serve():
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            accepted.append(connection)

    thread = threading.Thread(target=serve, name="hung-smtp", daemon=True)
    thread.start()
    yield listener.getsockname()[1], accepted
    stop.set()
    thread.join(timeout=5)
    for connection in accepted:
        connection.close()
    listener.close()
    assert not thread.is_alive()


@pytest.fixture
def shared_database_url(database_url, tmp_path):
    """A database more than one connection can share (a file, for SQLite)."""
    if database_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'outbox.db'}"
    return database_url


def mail_app(make_app, port, **settings):
    """An app that sends through the SMTP server on port."""
    settings.setdefault("MAIL_TIMEOUT", 5)
    return make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, **settings)


def add_user(app, username="susan", email=ADDRESS) -> int:
    """Create a user with a password in app's database; return its id."""
    with app.app_context():
        user = User(username=username, email=email)
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.commit()
        return user.id


def queue_email(app, to=ADDRESS, subject="Hello", body="A plain message.") -> int:
    """Queue an ordinary message without delivering it; return its row id."""
    with app.app_context():
        send_email(subject, [to], body, f"<p>{body}</p>")
        db.session.commit()
        return db.session.scalar(sa.select(sa.func.max(OutboxMessage.id)))


def get_row(row_id: int) -> OutboxMessage:
    """A fresh copy of an outbox row (call inside an app context)."""
    db.session.expire_all()
    return db.session.get(OutboxMessage, row_id)


def only_row() -> OutboxMessage:
    """The one outbox row there is (call inside an app context)."""
    rows = db.session.scalars(sa.select(OutboxMessage)).all()
    assert len(rows) == 1, rows
    return rows[0]


def make_due(row_id: int | None = None) -> None:
    """Pretend the backoff has passed (call inside an app context)."""
    query = sa.update(OutboxMessage).values(
        next_attempt_at=utcnow() - timedelta(seconds=1)
    )
    if row_id is not None:
        query = query.where(OutboxMessage.id == row_id)
    db.session.execute(query)
    db.session.commit()


def test_server_down_keeps_mail_for_a_retry_then_sends_it_once(make_app, start_smtp):
    port = free_port()  # nothing listens here yet
    app = mail_app(make_app, port)
    add_user(app)
    client = app.test_client()

    started = time.monotonic()
    response = client.post("/reset_password_request", data={"email": ADDRESS})
    elapsed = time.monotonic() - started
    assert response.status_code == 302
    assert elapsed < 2

    with app.app_context():
        row = only_row()
        assert row.status == "pending"
        assert row.attempts == 1
        assert row.last_error
        assert row.locked_until is None
        assert as_utc(row.next_attempt_at) > utcnow()
        # Not due yet: nothing happens before the backoff ends.
        assert deliver_due() == 0
        row_id = row.id

    server = start_smtp(Mailbox(), port=port)
    with app.app_context():
        make_due(row_id)
        assert deliver_due() == 1
        assert deliver_due() == 0
        row = get_row(row_id)
        assert row.status == "sent"
        assert row.attempts == 2
        assert row.sent_at is not None
        assert row.text_body is None
        assert row.html_body is None
    assert len(server.messages) == 1
    assert server.messages[0][0] == [ADDRESS]


def test_hung_server_times_out_and_schedules_a_retry(make_app, hung_server):
    port, accepted = hung_server
    app = mail_app(make_app, port, MAIL_TIMEOUT=1)
    row_id = queue_email(app)
    handled = []

    def sender():
        with app.app_context():
            handled.append(deliver_due())
            db.session.remove()

    # In a thread, so a sender without a timeout fails this test instead of
    # hanging it (closing the hung connections at teardown releases it).
    thread = threading.Thread(target=sender, name="hung-sender", daemon=True)
    started = time.monotonic()
    thread.start()
    thread.join(timeout=5)
    elapsed = time.monotonic() - started
    assert not thread.is_alive(), "delivery is still waiting on the hung server"
    assert handled == [1]
    assert accepted, "the sender never connected"
    assert elapsed < 4

    with app.app_context():
        row = get_row(row_id)
        assert row.status == "pending"
        assert row.attempts == 1
        assert row.last_error
        assert row.locked_until is None
        assert as_utc(row.next_attempt_at) > utcnow()
        assert row.text_body == "A plain message."  # kept for the retry


def test_unreachable_server_costs_one_connection_per_pass(make_app, hung_server):
    port, accepted = hung_server
    app = mail_app(make_app, port, MAIL_TIMEOUT=1)
    row_ids = [queue_email(app, subject=f"Hello {n}") for n in range(3)]

    started = time.monotonic()
    with app.app_context():
        assert deliver_due() == 3
    elapsed = time.monotonic() - started
    assert len(accepted) == 1, "each message tried the dead server on its own"
    assert elapsed < 2

    with app.app_context():
        for row_id in row_ids:
            row = get_row(row_id)
            assert row.status == "pending"
            assert row.attempts == 1
            assert "timed out" in row.last_error
            assert row.locked_until is None
            assert as_utc(row.next_attempt_at) > utcnow()


def test_unreachable_server_expires_dead_links_in_the_batch(make_app, hung_server):
    port, _ = hung_server
    app = mail_app(make_app, port, MAIL_TIMEOUT=1)
    first = queue_email(app)
    with app.app_context():
        queue(
            kind="password_reset",
            recipients=ADDRESS,
            expires_at=utcnow() - timedelta(seconds=1),
        )
        db.session.commit()
        expired = db.session.scalar(sa.select(sa.func.max(OutboxMessage.id)))
        assert deliver_due() == 2
        assert get_row(first).status == "pending"
        row = get_row(expired)
        assert row.status == "expired"
        assert row.recipients is None
        assert row.locked_until is None


@pytest.mark.parametrize(
    "handler_settings",
    [
        {"rcpt_reply": "550 5.1.1 No such mailbox"},
        {"data_reply": "550 5.7.1 Message refused"},
    ],
    ids=["rcpt", "data"],
)
def test_permanent_refusal_fails_without_retrying(
    make_app, start_smtp, handler_settings
):
    server = start_smtp(Mailbox(**handler_settings))
    app = mail_app(make_app, server.port)
    add_user(app)
    client = app.test_client()

    response = client.post("/reset_password_request", data={"email": ADDRESS})
    assert response.status_code == 302
    assert server.attempts == 1

    with app.app_context():
        row = only_row()
        assert row.status == "failed"
        assert row.attempts == 1
        assert "550" in row.last_error
        assert row.locked_until is None
        # Even when due, a failed row is never picked up again.
        make_due()
        assert deliver_due() == 0
        assert get_row(row.id).status == "failed"
    assert server.attempts == 1
    assert server.messages == []


@pytest.mark.parametrize(
    "handler_settings",
    [
        {"rcpt_reply": "451 4.3.0 Try again later"},
        {"data_reply": "451 4.3.0 Try again later"},
    ],
    ids=["rcpt", "data"],
)
def test_temporary_refusal_is_retried_then_given_up(
    make_app, start_smtp, handler_settings
):
    server = start_smtp(Mailbox(**handler_settings))
    app = mail_app(make_app, server.port, MAIL_MAX_ATTEMPTS=3)
    row_id = queue_email(app)

    with app.app_context():
        for attempt, backoff in ((1, 30), (2, 60)):
            assert deliver_due() == 1
            row = get_row(row_id)
            assert row.status == "pending"
            assert row.attempts == attempt
            assert "451" in row.last_error
            wait = (as_utc(row.next_attempt_at) - utcnow()).total_seconds()
            assert backoff - 5 < wait <= backoff
            assert deliver_due() == 0  # not before the backoff ends
            make_due(row_id)

        assert deliver_due() == 1
        row = get_row(row_id)
        assert row.status == "failed"
        assert row.attempts == 3
        assert "451" in row.last_error
        assert row.text_body == "A plain message."  # a failed body is kept
        make_due(row_id)
        assert deliver_due() == 0
    assert server.attempts == 3
    assert server.messages == []


def test_expired_reset_is_not_sent(make_app, start_smtp):
    server = start_smtp(Mailbox())
    app = mail_app(make_app, server.port)
    add_user(app)

    with app.app_context():
        row = OutboxMessage(
            kind="password_reset",
            recipients=ADDRESS,
            expires_at=utcnow() - timedelta(seconds=1),
        )
        db.session.add(row)
        db.session.commit()
        assert deliver_due() == 1
        row = get_row(row.id)
        assert row.status == "expired"
        assert row.sent_at is None
        assert row.recipients is None
    assert server.attempts == 0
    assert server.messages == []


def test_claim_due_takes_each_row_once_until_its_lease_expires(app):
    first = queue_email(app, subject="First")
    second = queue_email(app, subject="Second")

    with app.app_context():
        claimed = [*claim_due(1), *claim_due(1)]
        assert [row.id for row in claimed] == [first, second]
        assert claim_due(10) == []
        for row in claimed:
            assert row.attempts == 1
            assert as_utc(row.locked_until) > utcnow()

        # A sender that died holding the row: the lease runs out, another takes it.
        db.session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.id == first)
            .values(locked_until=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
        [again] = claim_due(10)
        assert again.id == first
        assert again.attempts == 2
        assert claim_due(10) == []


def test_claim_due_while_the_session_holds_a_loaded_row(app):
    # Any code that looked at a row (an admin page, a CLI command) and then
    # delivers in the same session must still be able to claim it.
    first = queue_email(app, subject="First")
    queue_email(app, subject="Second")

    with app.app_context():
        loaded = db.session.get(OutboxMessage, first)
        assert loaded.status == "pending"
        [claimed, _] = claim_due(10)
        assert claimed.id == first
        assert claimed.attempts == 1
        assert as_utc(claimed.locked_until) > utcnow()


def test_concurrent_senders_never_share_a_row(make_app, shared_database_url):
    app = make_app(SQLALCHEMY_DATABASE_URI=shared_database_url)
    ids = [queue_email(app, subject=f"Message {n}") for n in range(20)]
    claimed = []
    batches = []
    errors = []
    start = threading.Barrier(4, timeout=10)

    def sender():
        try:
            with app.app_context():
                start.wait()
                while rows := claim_due(3):
                    batches.append(len(rows))
                    claimed.extend(row.id for row in rows)
                db.session.remove()
        except Exception as error:  # noqa: BLE001 - reported by the test below
            errors.append(error)

    threads = [threading.Thread(target=sender) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    assert max(batches) <= 3
    with app.app_context():
        rows = db.session.scalars(sa.select(OutboxMessage)).all()
        states = [(row.id, row.attempts, row.locked_until) for row in rows]
    assert sorted(claimed) == sorted(ids), (claimed, states)
    with app.app_context():
        attempts = db.session.scalars(sa.select(OutboxMessage.attempts)).all()
        assert attempts == [1] * len(ids)


@pytest.fixture
def delivery_threads(monkeypatch):
    """Let the app start its own delivery thread, and stop it after the test."""
    stop = threading.Event()
    threads = []
    real_run_forever = outbox.run_forever

    def run_forever(app, stop_event=None):
        threads.append(threading.current_thread())
        real_run_forever(app, stop)

    monkeypatch.setattr(outbox, "_thread_pid", None)
    monkeypatch.setattr(outbox, "run_forever", run_forever)
    yield threads
    stop.set()
    outbox._wakeup.set()
    for thread in threads:
        thread.join(timeout=10)
    assert not any(thread.is_alive() for thread in threads)


def test_request_never_waits_for_a_slow_mail_server(
    make_app, start_smtp, shared_database_url, delivery_threads
):
    server = start_smtp(Mailbox(data_delay=2))
    app = mail_app(
        make_app,
        server.port,
        MAIL_DELIVERY="thread",
        SQLALCHEMY_DATABASE_URI=shared_database_url,
    )
    add_user(app)
    client = app.test_client()
    assert client.get("/reset_password_request").status_code == 200
    assert len(delivery_threads) == 1  # the first request started the sender

    started = time.monotonic()
    response = client.post("/reset_password_request", data={"email": ADDRESS})
    elapsed = time.monotonic() - started
    assert response.status_code == 302
    assert elapsed < 1
    assert server.messages == []  # still on its way

    assert wait_for(lambda: len(server.messages) == 1, timeout=10)
    assert server.messages[0][0] == [ADDRESS]
    with app.app_context():
        assert wait_for(lambda: get_row(only_row().id).status == "sent", timeout=5)


def test_error_mail_handler_queues_a_report_for_admins(make_app, start_smtp):
    server = start_smtp(Mailbox())
    app = mail_app(make_app, server.port, ADMINS=["admin@example.org"])
    handler = ErrorMailHandler(app)
    logger = logging.getLogger("tests.error_mail")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        try:
            raise RuntimeError("the database caught fire")
        except RuntimeError:
            logger.exception("Exception on /index [GET]")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True

    with app.app_context():
        row = only_row()
        assert row.recipients == "admin@example.org"
        assert row.status == "pending"
        assert "Exception on /index [GET]" in row.text_body
        assert "RuntimeError: the database caught fire" in row.text_body

    with app.app_context():  # the sender works in its own context
        assert deliver_due() == 1
        row = only_row()
        assert row.status == "sent"
        assert row.text_body is None

    assert len(server.messages) == 1
    recipients, message = server.messages[0]
    assert recipients == ["admin@example.org"]
    assert message["Subject"] == "[Microblog] Failure"
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert "RuntimeError: the database caught fire" in body


def test_one_connection_carries_a_whole_delivery_pass(smtp_app, smtp_server):
    """A pass reuses its SMTP connection; the next pass opens a new one."""
    for n in range(3):
        queue_email(smtp_app, subject=f"Batch {n}")
    with smtp_app.app_context():
        assert deliver_due() == 3
    queue_email(smtp_app, subject="Later")
    with smtp_app.app_context():
        assert deliver_due() == 1
    assert len(smtp_server.messages) == 4
    assert len(set(smtp_server.peers[:3])) == 1
    assert smtp_server.peers[3] != smtp_server.peers[0]


def test_request_never_waits_for_a_hung_mail_server(
    make_app, hung_server, shared_database_url, delivery_threads
):
    """While the sender is stuck on a silent server, requests still answer at once."""
    port, accepted = hung_server
    app = mail_app(
        make_app,
        port,
        MAIL_DELIVERY="thread",
        MAIL_TIMEOUT=2,
        SQLALCHEMY_DATABASE_URI=shared_database_url,
    )
    add_user(app)
    client = app.test_client()
    client.post("/reset_password_request", data={"email": ADDRESS})
    assert wait_for(lambda: accepted, timeout=5)  # the sender is now stuck on it
    for _ in range(2):
        started = time.monotonic()
        response = client.post("/reset_password_request", data={"email": ADDRESS})
        assert response.status_code == 302
        assert time.monotonic() - started < 1
    assert wait_for(lambda: retried_rows(app) >= 1, timeout=10)


def retried_rows(app) -> int:
    """How many outbox rows have failed once and wait for a retry."""
    with app.app_context():
        waiting = sa.select(sa.func.count()).where(
            OutboxMessage.status == "pending", OutboxMessage.last_error.is_not(None)
        )
        return db.session.scalar(waiting)


@pytest.fixture
def reports():
    """Queue error reports from app for ADMINS, as production does (app's logger)."""
    logger = logging.getLogger("app")
    handlers = []

    def start(app):
        handler = ErrorMailHandler(app)
        handler.setLevel(logging.ERROR)
        logger.addHandler(handler)
        handlers.append(handler)

    yield start
    for handler in handlers:
        logger.removeHandler(handler)


def report_count() -> int:
    """How many error reports the outbox holds (call inside an app context)."""
    query = sa.select(sa.func.count()).where(
        OutboxMessage.subject == outbox.REPORT_SUBJECT
    )
    return db.session.scalar(query)


def test_undeliverable_address_fails_alone_and_the_batch_goes_on(
    make_app, start_smtp, reports
):
    """A local part beyond ASCII, to a server without SMTPUTF8: failed once, alone."""
    server = start_smtp(Mailbox(), enable_SMTPUTF8=False)
    app = mail_app(make_app, server.port, ADMINS=["admin@example.org"])
    reports(app)
    good = [queue_email(app, to=f"friend{n}@example.org") for n in range(3)]
    bad = queue_email(app, to="josé@example.com")
    good.append(queue_email(app, to="friend3@example.org"))

    with app.app_context():
        assert deliver_due() == 6  # the five, then the report it caused
        row = get_row(bad)
        assert row.status == "failed"
        assert row.attempts == 1
        assert "SMTPUTF8" in row.last_error
        assert row.locked_until is None
        assert all(get_row(row_id).status == "sent" for row_id in good)
        assert report_count() == 1

        make_due()
        assert deliver_due() == 0
        row = get_row(bad)
        assert (row.status, row.attempts) == ("failed", 1)
        assert report_count() == 1
    recipients = [envelope for envelope, _ in server.messages]
    assert sorted(recipients) == [
        ["admin@example.org"],
        *([f"friend{n}@example.org"] for n in range(4)),
    ]


def test_a_message_that_cannot_be_built_fails_alone(
    make_app, start_smtp, reports, caplog
):
    """A row the composer can't render is failed with a traceback; the rest go."""
    server = start_smtp(Mailbox())
    app = mail_app(make_app, server.port, ADMINS=["admin@example.org"])
    reports(app)
    user_id = add_user(app)
    before = queue_email(app, to="friend@example.org")
    with app.app_context():
        # As an older version queued the notice: without "when", it can't render.
        queue(
            kind="email_changed",
            user_id=user_id,
            recipients=ADDRESS,
            expires_at=utcnow() + timedelta(days=1),
            details={"recipient": ADDRESS},
        )
        db.session.commit()
        broken = db.session.scalar(sa.select(sa.func.max(OutboxMessage.id)))
    after = queue_email(app, to="other@example.org")

    with app.app_context(), caplog.at_level(logging.ERROR, logger="app.mail.outbox"):
        assert deliver_due() == 4  # the three, then the report
        row = get_row(broken)
        assert (row.status, row.attempts) == ("failed", 1)
        assert "KeyError" in row.last_error
        assert get_row(before).status == get_row(after).status == "sent"
        make_due()
        assert deliver_due() == 0  # the broken row is not tried again
        assert get_row(broken).attempts == 1
        assert report_count() == 1
    [failure] = [r for r in caplog.records if f"Mail {broken} " in r.getMessage()]
    assert failure.exc_info is not None  # the traceback is in the log
    recipients = sorted(envelope for envelope, _ in server.messages)
    assert recipients == [
        ["admin@example.org"],
        ["friend@example.org"],
        ["other@example.org"],
    ]


def test_undeliverable_report_is_not_reported_again(make_app, start_smtp, reports):
    """A report to an address the server can't take fails once, with no new report."""
    server = start_smtp(Mailbox(), enable_SMTPUTF8=False)
    app = mail_app(make_app, server.port, ADMINS=["josé@example.org"])
    reports(app)
    queue_email(app, to="josé@example.com")

    with app.app_context():
        assert deliver_due() == 2  # the message, then the report it caused
        assert report_count() == 1
        for _ in range(2):
            make_due()
            deliver_due()
        assert report_count() == 1
        statuses = db.session.scalars(sa.select(OutboxMessage.status)).all()
        assert statuses == ["failed", "failed"]
    assert server.messages == []


def test_every_kind_of_mail_a_feature_queues_has_its_builder(app):
    """Features register their builders with app.mail; the mail package knows none."""
    from app.mail.compose import BUILDERS

    assert set(BUILDERS) >= {
        "password_reset",
        "confirm_email",
        "registration_attempt",
        "password_changed",
        "change_email",
        "change_email_taken",
        "email_changed",
    }
    assert BUILDERS["password_reset"].__module__ == "app.auth.email"
    assert BUILDERS["change_email"].__module__ == "app.account.email"


def test_a_kind_nobody_builds_fails_loudly_not_silently(make_app, start_smtp):
    """A row of a kind no feature registered is a bug: failed with the reason."""
    server = start_smtp(Mailbox())
    app = mail_app(make_app, server.port)
    with app.app_context():
        queue(kind="no_such_kind", recipients=ADDRESS)
        db.session.commit()
        row_id = db.session.scalar(sa.select(sa.func.max(OutboxMessage.id)))
        deliver_due()
        row = get_row(row_id)
        assert (row.status, row.attempts) == ("failed", 1)
        assert "no_such_kind" in row.last_error
    assert server.messages == []
