"""The real app as separate processes: gunicorn, `flask mail worker`, kill -9.

Each test runs the app the way it is deployed: the schema comes from `flask db
upgrade`, gunicorn serves it with four worker processes, mail goes to a real SMTP
server (aiosmtpd on loopback) and every setting comes from the environment. The
load test drives it over HTTP with real CSRF tokens and cookies; the fault tests
kill -9 the whole gunicorn process group with mail queued and check that each
message still goes out exactly once.

Linux only (process groups and /proc). PostgreSQL is expected on 127.0.0.1:5432
(or `TEST_POSTGRES_URL`); without it the PostgreSQL cases skip, or fail under
`CI=true`.
"""

import signal
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from app.mail.outbox import BATCH
from tests.conftest import free_port, wait_for
from tests.deployment import (
    CLIENTS,
    QUIET_SECONDS,
    RESET_SUBJECT,
    USERS,
    Mailbox,
    email,
    outbox_counts,
    query,
    register_and_request_reset,
    reset_mails,
    stop_group,
    tail,
)

# --- Tests ------------------------------------------------------------------


def test_200_users_register_and_reset_at_once(app_database, deploy, start_smtp):
    """Issue 4, point 8: no errors and exactly one reset mail per user.

    argon2 stays at its production cost (19 MiB, 2 passes): 200 registrations
    take a few seconds of CPU on two cores, so nothing is weakened for speed.
    """
    mailbox = start_smtp(Mailbox(only=RESET_SUBJECT))
    app = deploy(app_database, mailbox.port, MAIL_DELIVERY="thread")
    app.start()

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        results = list(
            pool.map(
                lambda n: register_and_request_reset(app.base_url, n), range(USERS)
            )
        )
    load_seconds = time.monotonic() - started
    problems = [problem for result in results for problem in result]
    assert problems == [], f"{len(problems)} failed requests:\n" + "\n".join(
        problems[:20]
    )

    wanted = {email(n) for n in range(USERS)}
    arrived = wait_for(lambda: len(mailbox.messages) >= USERS, 90, 0.2)
    mail_seconds = time.monotonic() - started
    assert arrived, (
        f"only {len(mailbox.messages)} of {USERS} mails within 90 s; "
        f"outbox: {outbox_counts(app_database)}"
    )
    time.sleep(QUIET_SECONDS)  # anything sent twice would arrive by now

    recipients = mailbox.recipients()
    duplicates = {rcpt: n for rcpt, n in Counter(recipients).items() if n > 1}
    assert duplicates == {}, f"sent more than once: {duplicates}"
    assert len(mailbox.messages) == USERS
    assert set(recipients) == wanted
    link = f"http://127.0.0.1:{app.port}/reset_password/"
    for mail in reset_mails(mailbox):
        assert link in mail.get_body(("plain",)).get_content()
    assert len(reset_mails(mailbox)) == USERS

    assert outbox_counts(app_database) == {"sent": USERS}
    assert query(app_database, "SELECT count(*) FROM outbox WHERE attempts <> 1") == [
        (0,)
    ]
    assert query(app_database, 'SELECT count(*) FROM "user"') == [(USERS,)]
    logs = app.logs()
    assert "database is locked" not in logs
    assert "Traceback" not in logs
    print(
        f"\n{app_database.split(':')[0]}: {USERS} users, {4 * USERS} requests in "
        f"{load_seconds:.1f} s; {len(mailbox.messages)} mails after "
        f"{mail_seconds:.1f} s"
    )


def test_kill_9_with_mail_queued_then_restart_delivers_it_once(
    app_database, deploy, start_smtp
):
    """Issue 4, point 4: kill -9 the app with mail queued, restart: sent once.

    The first run has no sender of its own (MAIL_DELIVERY=worker), so the rows
    are certainly still queued when the whole process group dies; the restarted
    app (thread mode, the default) must find and send them by itself, before
    anyone visits: after a crash at night, nobody may come for hours.
    """
    mailbox = start_smtp(Mailbox(only=RESET_SUBJECT))
    app = deploy(app_database, mailbox.port, MAIL_DELIVERY="worker")
    first = app.start()
    for number in range(3):
        assert register_and_request_reset(app.base_url, number) == []
    assert outbox_counts(app_database) == {"pending": 3}

    app.kill_9(first)
    assert outbox_counts(app_database) == {"pending": 3}
    assert mailbox.messages == []

    app.start(probe_http=False, MAIL_DELIVERY="thread")  # no request at all
    assert wait_for(lambda: len(mailbox.messages) >= 3, 30), (
        f"{len(mailbox.messages)} mails 30 s after the restart, with no request; "
        f"outbox: {outbox_counts(app_database)}"
    )
    time.sleep(QUIET_SECONDS)
    assert sorted(mailbox.recipients()) == [email(n) for n in range(3)]
    assert len(reset_mails(mailbox)) == 3
    assert outbox_counts(app_database) == {"sent": 3}


def test_kill_9_while_mail_server_is_down_then_operator_retry(
    app_database, deploy, start_smtp
):
    """Mail that failed against a dead server survives kill -9 and goes out once.

    The app tries, gets "connection refused" and schedules a retry; then the
    whole gunicorn group is killed. With the server back, the restarted app and
    an operator's `flask mail retry` send each message exactly once.
    """
    mail_port = free_port()  # nothing listens here yet
    app = deploy(app_database, mail_port, MAIL_DELIVERY="thread", MAIL_TIMEOUT=5)
    first = app.start()
    for number in range(3):
        assert register_and_request_reset(app.base_url, number) == []

    def all_tried_and_waiting() -> bool:
        rows = query(
            app_database,
            "SELECT status, attempts, last_error, locked_until FROM outbox",
        )
        # Each user's confirmation and reset.
        return len(rows) == 6 and all(
            status == "pending" and attempts == 1 and error and locked is None
            for status, attempts, error, locked in rows
        )

    assert wait_for(all_tried_and_waiting, 20), query(
        app_database, "SELECT status, attempts, last_error FROM outbox"
    )
    assert all(
        "Connection refused" in error or "ConnectionRefused" in error
        for (error,) in query(app_database, "SELECT last_error FROM outbox")
    )

    app.kill_9(first)
    mailbox = start_smtp(Mailbox(only=RESET_SUBJECT), port=mail_port)
    app.start()
    assert "Requeued 6 message(s)." in app.flask("mail", "retry")
    assert wait_for(lambda: len(mailbox.messages) >= 3, 30), (
        f"{len(mailbox.messages)} mails; outbox: {outbox_counts(app_database)}"
    )
    time.sleep(QUIET_SECONDS)
    assert sorted(mailbox.recipients()) == [email(n) for n in range(3)]
    assert outbox_counts(app_database) == {"sent": 3}
    assert query(
        app_database,
        "SELECT count(*) FROM outbox WHERE text_body IS NOT NULL "
        "OR html_body IS NOT NULL",
    ) == [(0,)]


def test_kill_9_then_two_mail_workers_send_each_mail_once(
    app_database, deploy, start_smtp
):
    """Issue 4, points 3 and 4: two `flask mail worker`s share a queue, no duplicates.

    The SMTP server holds the first delivery until a second one is in flight, so
    both workers are known to hold a claimed row at the same moment; each worker
    signs with its own sender address, so the test knows who sent what. There is
    more mail than one claim takes (BATCH), so neither worker can take it all.
    """
    queued = BATCH + 5
    mailbox = start_smtp(Mailbox(hold_until=2, hold=5, only=RESET_SUBJECT))
    app = deploy(app_database, mailbox.port, MAIL_DELIVERY="worker")
    server = app.start()
    for number in range(queued):
        assert register_and_request_reset(app.base_url, number) == []
    app.kill_9(server)
    assert outbox_counts(app_database) == {"pending": queued}

    workers = [
        app.start_worker(MAIL_DEFAULT_SENDER=f"worker-{n}@localhost") for n in (1, 2)
    ]
    assert wait_for(lambda: len(mailbox.messages) >= queued, 30), (
        f"{len(mailbox.messages)} mails; outbox: {outbox_counts(app_database)}"
    )
    time.sleep(QUIET_SECONDS)
    for worker in workers:
        assert worker.poll() is None, tail(worker.log)
        stop_group(worker, signal.SIGINT)

    assert sorted(mailbox.recipients()) == sorted(email(n) for n in range(queued))
    senders = Counter(str(mail["From"]) for _, mail in mailbox.messages)
    assert mailbox.max_in_flight >= 2, "the two workers never overlapped"
    assert set(senders) == {"worker-1@localhost", "worker-2@localhost"}, senders
    assert outbox_counts(app_database) == {"sent": queued}
    assert query(app_database, "SELECT count(*) FROM outbox WHERE attempts <> 1") == [
        (0,)
    ]
    logs = app.logs()
    assert "Traceback" not in logs
    assert "database is locked" not in logs
