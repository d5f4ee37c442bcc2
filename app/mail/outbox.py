"""Delivering queued mail: claim due messages, send with a timeout, retry, erase."""

import logging
import os
import smtplib
import threading
from datetime import timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import Flask, current_app, g, has_app_context

from app import db
from app.database import UNAVAILABLE
from app.health import database_trouble, serving
from app.mail.compose import message_for
from app.mail.models import OutboxMessage
from app.mail.smtp import Mailer, PermanentFailure, Unreachable
from app.models import utcnow

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
# Messages claimed at once; small enough that even timing out on each one
# (MAIL_TIMEOUT) finishes well inside the lease.
BATCH = 10
POLL_SECONDS = 5.0
# After a wake-up, wait this long so a burst of mail shares one pass and one
# SMTP connection instead of costing a connection each.
GATHER_SECONDS = 0.25
MAX_BACKOFF = timedelta(hours=1)
REPORT_SUBJECT = "[Microblog] Failure"
_wakeup = threading.Event()
# Set on shutdown: senders finish the message in hand, release the rest, stop.
_stopping = threading.Event()
_thread: threading.Thread | None = None
_thread_pid: int | None = None
_thread_lock = threading.Lock()
# Ids the mail server accepted while the database couldn't record it; recorded
# as sent first thing once it is back, so they never go out a second time.
_sent_unrecorded: set[int] = set()


@sa.event.listens_for(so.Session, "after_commit")
def _mail_committed(session) -> None:
    """Wake the sender once queued mail is visible to other connections."""
    if session.info.pop("mail_queued", False):
        _wakeup.set()
        if has_app_context():
            g.mail_committed = True


def init_app(app: Flask) -> None:
    """Deliver in this app's own processes unless a separate worker does it."""
    mode = app.config["MAIL_DELIVERY"]
    if mode == "inline":
        app.after_request(_deliver_after_request)
    elif mode == "thread":
        # Start now, so mail queued before a crash goes out after a restart
        # without waiting for a visitor; and again after a fork (--preload).
        if serving():
            start_thread(app)
        app.before_request(lambda: start_thread(app))


def _deliver_after_request(response):
    """Tests: deliver what this request queued before the response returns."""
    if g.pop("mail_committed", False):
        deliver_due()
    return response


def start_thread(app: Flask) -> None:
    """Start this process's delivery thread (once per process, fork-safe)."""
    global _thread, _thread_pid
    if _thread_pid == os.getpid():
        return
    with _thread_lock:
        if _thread_pid != os.getpid():
            _thread_pid = os.getpid()
            _stopping.clear()
            _thread = threading.Thread(
                target=run_forever, args=(app,), name="mail-delivery", daemon=True
            )
            _thread.start()


def stop_thread(timeout: float) -> bool:
    """Let this process's sender finish the message in hand; True once it stopped."""
    stop_senders()
    if _thread is None or _thread_pid != os.getpid():
        return True
    _thread.join(timeout)
    return not _thread.is_alive()


def stop_senders() -> None:
    """Ask every sender in this process to stop after the message in hand."""
    _stopping.set()
    _wakeup.set()


def run_forever(app: Flask, stop: threading.Event | None = None) -> None:
    """Deliver due mail now and whenever woken, polling as a fallback."""
    stop = stop or _stopping
    database_down = False
    while not stop.is_set():
        with app.app_context():
            try:
                deliver_due(stop=stop)
            except Exception as error:
                trouble = database_trouble(error)
                if trouble is None:
                    log.exception("Mail delivery pass failed; will retry")
                else:
                    if not database_down:
                        log.warning("%s; mail waits: %s", *trouble)
                    database_down = True
            else:
                if database_down:
                    log.warning("Database is back; delivering mail again")
                database_down = False
            finally:
                db.session.remove()
        if _wakeup.wait(POLL_SECONDS) and not stop.is_set():
            stop.wait(GATHER_SECONDS)
        _wakeup.clear()


def deliver_due(limit: int = 100, stop: threading.Event = _stopping) -> int:
    """Deliver up to limit due messages over one connection; return how many."""
    record_sent_unrecorded()
    handled = 0
    with Mailer() as mailer:
        while handled < limit and not stop.is_set():
            rows = claim_due(min(BATCH, limit - handled))
            if not rows:
                break
            for index, row in enumerate(rows):
                if stop.is_set():
                    release(rows[index:])
                    return handled + index
                try:
                    deliver(row, mailer)
                except Unreachable as error:
                    # The rest of the batch waits too, instead of each message
                    # connecting, failing and committing on its own while the
                    # server is down (that extra work slowed requests).
                    retry_later(rows[index:], error.__cause__ or error)
                    return handled + len(rows)
            handled += len(rows)
    return handled


def record_sent_unrecorded() -> None:
    """Record what the server accepted while the database was away."""
    if not _sent_unrecorded:
        return
    ids = set(_sent_unrecorded)
    db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), OutboxMessage.status == "pending")
        .values(
            status="sent",
            sent_at=utcnow(),
            locked_until=None,
            text_body=None,
            html_body=None,
        )
    )
    db.session.commit()
    _sent_unrecorded.difference_update(ids)
    log.warning("Recorded %s message(s) sent during a database outage", len(ids))


def release(rows: list[OutboxMessage]) -> None:
    """Hand claimed, untried rows back at once (shutting down), not after the lease."""
    for row in rows:
        row.locked_until = None
        row.attempts -= 1
    db.session.commit()


def claim_due(limit: int) -> list[OutboxMessage]:
    """Atomically take up to limit of the oldest due messages.

    The UPDATE re-checks that each row is still due, so no two senders on any
    host ever hold the same message; on PostgreSQL the SELECT also locks the
    rows and skips those another sender is taking.
    """
    now = utcnow()
    due = sa.and_(
        OutboxMessage.status == "pending",
        OutboxMessage.next_attempt_at <= now,
        sa.or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until < now),
    )
    oldest = (
        sa.select(OutboxMessage.id)
        .where(due)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
    )
    if db.engine.dialect.name == "postgresql":
        # Lock in a SELECT of its own: as a subquery of the UPDATE, the locking
        # SELECT took more rows than its LIMIT when two workers raced.
        oldest = oldest.with_for_update(skip_locked=True)
    candidates = db.session.scalars(oldest).all()
    claimed = db.session.scalars(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id.in_(candidates), due)
        .values(locked_until=now + LEASE, attempts=OutboxMessage.attempts + 1)
        .returning(OutboxMessage.id)
        .execution_options(synchronize_session=False)
    ).all()
    db.session.commit()
    if not claimed:
        return []
    rows = sa.select(OutboxMessage).where(OutboxMessage.id.in_(claimed))
    rows = rows.order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
    return list(db.session.scalars(rows.execution_options(populate_existing=True)))


def deliver(row: OutboxMessage, mailer: "Mailer") -> None:
    """Send one claimed message and record the outcome, whatever goes wrong."""
    if row.expires_at is not None and row.expires_at <= utcnow():
        return finish(row, "expired")
    try:
        message = message_for(row)
        if message is None:
            return finish(row, "dropped")
        mailer.send(message)
    except (Unreachable, *UNAVAILABLE):
        raise
    except PermanentFailure as error:
        log.error("Mail %s rejected for good: %s", row.id, error, extra=about(row))
        finish(row, "failed", error)
    except (OSError, smtplib.SMTPException) as error:
        retry_later([row], error)
    except Exception as error:
        # A bug or data no retry can fix (a row that can't be rendered, an
        # address the library can't write): this message fails, once, and the
        # rest of the batch goes on instead of all of it waiting for the lease.
        db.session.rollback()  # whatever it left half done; the report is separate
        log.exception(
            "Mail %s could not be built or sent; failed for good",
            row.id,
            extra=about(row),
        )
        finish(row, "failed", error)
    else:
        row_id = row.id  # read now: a failed commit leaves the row unreadable
        try:
            finish(row, "sent")
        except UNAVAILABLE:
            _sent_unrecorded.add(row_id)
            raise


def about(row: OutboxMessage) -> dict:
    """Log extras for a message's failure: whether it is itself an error report."""
    return {"failed_report": row.kind == "email" and row.subject == REPORT_SUBJECT}


def retry_later(rows: list[OutboxMessage], error: Exception) -> None:
    """Schedule another try for each row, with exponential backoff, or give up."""
    most = current_app.config["MAIL_MAX_ATTEMPTS"]
    for row in rows:
        if row.expires_at is not None and row.expires_at <= utcnow():
            # Backed off with its batch untried; a dead link is not worth a retry.
            record(row, "expired")
            continue
        if row.attempts >= most:
            log.error(
                "Mail %s given up after %s tries: %r",
                row.id,
                row.attempts,
                error,
                extra=about(row),
            )
            record(row, "failed", error)
            continue
        delay = min(timedelta(seconds=30 * 2 ** (row.attempts - 1)), MAX_BACKOFF)
        log.warning("Mail %s failed (%r); retrying in %s", row.id, error, delay)
        row.last_error = repr(error)[:512]
        row.next_attempt_at = utcnow() + delay
        row.locked_until = None
    db.session.commit()


def finish(row: OutboxMessage, status: str, error: Exception | None = None) -> None:
    """Record the outcome and commit it."""
    record(row, status, error)
    db.session.commit()


def record(row: OutboxMessage, status: str, error: Exception | None = None) -> None:
    """Set the outcome; a delivered or moot body is erased, a failed one kept."""
    row.status = status
    row.locked_until = None
    if status != "failed":
        row.text_body = row.html_body = None
    if status == "sent":
        row.sent_at = utcnow()
    if status in ("dropped", "expired") and row.kind == "password_reset":
        # An address nobody registered is not ours to keep.
        row.recipients = None
    if error is not None:
        row.last_error = repr(error)[:512]


def retry_failed() -> int:
    """Put failed and backing-off messages back in line now; return how many."""
    backing_off = (OutboxMessage.status == "pending") & (OutboxMessage.attempts > 0)
    result = db.session.execute(
        sa.update(OutboxMessage)
        .where((OutboxMessage.status == "failed") | backing_off)
        .values(
            status="pending", attempts=0, next_attempt_at=utcnow(), locked_until=None
        )
    )
    db.session.commit()
    return result.rowcount


class ErrorMailHandler(logging.Handler):
    """Queues error reports for ADMINS in the outbox, outside the failed request."""

    def __init__(self, app: Flask):
        super().__init__()
        self.app = app
        # A report that can't be delivered is logged, not reported again: the
        # next report would go to the same addresses, and so on every pass.
        self.addFilter(lambda record: not getattr(record, "failed_report", False))
        self.setFormatter(logging.Formatter("%(asctime)s %(name)s\n%(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        """Write the report in its own transaction, then wake the sender."""
        try:
            with self.app.app_context(), db.engine.begin() as connection:
                connection.execute(
                    sa.insert(OutboxMessage).values(
                        kind="email",
                        recipients=",".join(self.app.config["ADMINS"]),
                        subject=REPORT_SUBJECT,
                        text_body=self.format(record),
                        status="pending",
                        attempts=0,
                        created_at=utcnow(),
                        next_attempt_at=utcnow(),
                    )
                )
            _wakeup.set()
        except Exception:  # noqa: BLE001 - logging must never raise into the app
            self.handleError(record)
