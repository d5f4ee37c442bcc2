"""The operator commands: `flask mail ...` and `flask user ...`."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import cli, create_app, db
from app.auth.email import RESET_SUBJECT
from app.mail.compose import send_email
from app.mail.models import OutboxMessage
from app.models import User, as_utc, utcnow
from tests.conftest import TestConfig
from tests.test_migrations import migrated_to

PASSWORD = "tangerine lamp orbit 42"
RESET_LINK = re.compile(r"https://app\.example\.com/reset_password/[A-Za-z0-9_.\-]+")


def squeeze(text: str) -> str:
    """text without any whitespace, so line wrapping does not matter."""
    return "".join(text.split())


def add_rows(app, *rows: dict) -> list[int]:
    """Insert outbox rows with the given fields; return their ids."""
    with app.app_context():
        objects = [
            OutboxMessage(
                **{
                    "recipients": "someone@example.org",
                    "subject": "Hello",
                    "text_body": "Hi.",
                    "html_body": "<p>Hi.</p>",
                    **fields,
                }
            )
            for fields in rows
        ]
        db.session.add_all(objects)
        db.session.commit()
        return [row.id for row in objects]


def add_user(app, username="susan", email="susan@example.org") -> None:
    """Create a user with a password in app's database."""
    with app.app_context():
        user = User(username=username, email=email)
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.commit()


HELP_CASES = [
    (["mail"], cli.mail, ["worker", "status", "retry", "send-test"]),
    (["mail", "worker"], cli.worker, ["--once"]),
    (["mail", "status"], cli.status, []),
    (["mail", "retry"], cli.retry, []),
    (["mail", "send-test"], cli.send_test, ["ADDRESS"]),
    (["user"], cli.user, ["send-reset"]),
    (["user", "send-reset"], cli.send_reset, ["EMAIL"]),
]


@pytest.mark.parametrize(
    ("args", "command", "lists"),
    HELP_CASES,
    ids=[" ".join(case[0]) for case in HELP_CASES],
)
def test_help_shows_the_docstring(runner, args, command, lists):
    result = runner.invoke(args=[*args, "--help"])
    assert result.exit_code == 0, result.output
    assert command.help
    assert squeeze(command.help) in squeeze(result.output)
    for word in lists:
        assert word in result.output


def test_status_shows_counts_and_recent_failures(app, runner):
    failed, *_ = add_rows(
        app,
        {"status": "failed", "attempts": 8, "last_error": "SMTPDataError(550)"},
        {"status": "pending"},
        {"status": "pending"},
        {"status": "sent", "text_body": None, "html_body": None},
        {"status": "expired", "text_body": None, "html_body": None},
    )

    result = runner.invoke(args=["mail", "status"])
    assert result.exit_code == 0, result.output
    counts = dict(re.findall(r"^\s*(\w+): (\d+)$", result.output, re.MULTILINE))
    assert counts == {
        "pending": "2",
        "sent": "1",
        "failed": "1",
        "dropped": "0",
        "expired": "1",
    }
    assert re.search(r"^oldest pending: \d{4}-\d\d-\d\d", result.output, re.MULTILINE)
    assert f"#{failed} failed after 8 tries: SMTPDataError(550)" in result.output


def test_status_of_an_empty_outbox(runner):
    result = runner.invoke(args=["mail", "status"])
    assert result.exit_code == 0, result.output
    assert re.search(r"^\s*pending: 0$", result.output, re.MULTILINE)
    assert "oldest pending: -" in result.output


def test_retry_requeues_a_failed_row(app, runner, outbox):
    failed, sent = add_rows(
        app,
        {
            "status": "failed",
            "attempts": 8,
            "last_error": "SMTPDataError(550)",
            "next_attempt_at": utcnow() - timedelta(days=1),
        },
        {"status": "sent", "text_body": None, "html_body": None},
    )

    result = runner.invoke(args=["mail", "retry"])
    assert result.exit_code == 0, result.output
    assert "Requeued 1 message(s)." in result.output
    with app.app_context():
        row = db.session.get(OutboxMessage, failed)
        assert row.status == "pending"
        assert row.attempts == 0
        assert as_utc(row.next_attempt_at) <= utcnow()
        assert db.session.get(OutboxMessage, sent).status == "sent"

    # The requeued row goes out on the next pass.
    result = runner.invoke(args=["mail", "worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "Handled 1 message(s)." in result.output
    assert [message.subject for message in outbox] == ["Hello"]
    with app.app_context():
        assert db.session.get(OutboxMessage, failed).status == "sent"


def test_send_test_delivers_through_the_real_server(smtp_app, smtp_server):
    runner = smtp_app.test_cli_runner()
    result = runner.invoke(args=["mail", "send-test", "a@example.org"])
    assert result.exit_code == 0, result.output
    assert "Queued a test message to a@example.org" in result.output

    assert len(smtp_server.messages) == 1
    recipients, message = smtp_server.messages[0]
    assert recipients == ["a@example.org"]
    assert message["Subject"] == "[Microblog] Test message"
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert "mail delivery works" in body
    with smtp_app.app_context():
        row = db.session.scalar(sa.select(OutboxMessage))
        assert row.status == "sent"
        assert row.text_body is None


def test_send_reset_mails_a_known_user(smtp_app, smtp_server):
    add_user(smtp_app, email="Susan@Example.org")
    runner = smtp_app.test_cli_runner()

    result = runner.invoke(args=["user", "send-reset", "SUSAN@example.org"])
    assert result.exit_code == 0, result.output
    assert "susan <Susan@Example.org>" in result.output

    assert len(smtp_server.messages) == 1
    recipients, message = smtp_server.messages[0]
    assert recipients == ["Susan@Example.org"]
    assert message["Subject"] == RESET_SUBJECT
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert "Dear susan," in body
    assert RESET_LINK.search(body)


def test_send_reset_refuses_an_unknown_address(runner, make_user, outbox):
    make_user()
    result = runner.invoke(args=["user", "send-reset", "nobody@example.org"])
    assert result.exit_code != 0
    assert "No active account has the address nobody@example.org" in result.output
    assert outbox == []


def test_send_reset_refuses_a_deactivated_account(app, runner, make_user, outbox):
    make_user(active=False)
    result = runner.invoke(args=["user", "send-reset", "susan@example.org"])
    assert result.exit_code != 0
    assert "No active account has the address susan@example.org" in result.output
    assert outbox == []
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 0


def test_worker_once_delivers_pending_rows(app, runner, outbox):
    with app.app_context():
        send_email("First", ["a@example.org"], "One.", "<p>One.</p>")
        send_email("Second", ["b@example.org"], "Two.", "<p>Two.</p>")
        db.session.commit()
    later, *_ = add_rows(app, {"next_attempt_at": utcnow() + timedelta(hours=1)})

    result = runner.invoke(args=["mail", "worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "Handled 2 message(s)." in result.output
    assert sorted(message.subject for message in outbox) == ["First", "Second"]
    with app.app_context():
        statuses = dict(
            db.session.execute(sa.select(OutboxMessage.id, OutboxMessage.status)).all()
        )
        assert statuses.pop(later) == "pending"  # not due yet
        assert list(statuses.values()) == ["sent", "sent"]

    result = runner.invoke(args=["mail", "worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "Handled 0 message(s)." in result.output
    assert len(outbox) == 2


@pytest.mark.parametrize(
    "args",
    [
        ["mail", "status"],
        ["mail", "worker", "--once"],
        ["user", "send-reset", "someone@example.org"],
    ],
)
def test_commands_on_an_unmigrated_database_say_so(
    make_app, database_url, tmp_path, args
):
    """One line naming the fix, not a traceback; help still needs no database."""
    runner = migrated_to(make_app, database_url, tmp_path, None).test_cli_runner()
    result = runner.invoke(args=args)
    assert result.exit_code == 1
    assert "Error: schema at none, code needs" in result.output
    assert "run flask db upgrade" in result.output
    assert "Traceback" not in result.output
    help_page = runner.invoke(args=[*args[:2], "--help"])
    assert help_page.exit_code == 0 and "Usage:" in help_page.output


def test_commands_on_an_unreachable_database_say_so(tmp_path):
    url = f"sqlite:///{tmp_path / 'no such folder' / 'microblog.db'}"
    runner = create_app(
        type("Config", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": url})
    ).test_cli_runner()
    result = runner.invoke(args=["mail", "status"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: Database unavailable: ")
