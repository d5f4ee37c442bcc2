"""Composing mail and putting it in the outbox; features say how theirs is built.

A feature queues a kind of mail with queue() or queue_account_mail() and
registers, with builds() or account_mail(), how a row of that kind becomes a
message. Messages are built when they are sent (app.mail.outbox), in the
reader's language, so no live link ever waits in the outbox. This package
knows no feature: features import it, never the other way round.
"""

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import wraps

import sqlalchemy as sa
from flask import current_app, has_request_context, render_template, url_for
from flask_babel import force_locale, ngettext
from flask_mail import Message

from app import db
from app.i18n import DEFAULT_LOCALE, current_locale, supported
from app.mail.models import OutboxMessage
from app.models import User, active_user, normalize_email, utcnow

Builder = Callable[[OutboxMessage], Message | None]
# Each kind of queued mail, and how a row of it becomes a message.
BUILDERS: dict[str, Builder] = {}


def send_email(subject: str, recipients: list[str], text_body: str, html_body: str):
    """Queue a message; it goes out once the caller's transaction commits."""
    message = Message(subject, recipients=recipients, body=text_body, html=html_body)
    if message.has_bad_headers():
        raise ValueError("Mail headers must not contain line breaks.")
    queue(
        recipients=",".join(recipients),
        subject=subject,
        text_body=text_body,
        html_body=html_body,
    )


def queue(**columns) -> None:
    """Insert an outbox row in the current transaction and flag it for delivery."""
    # A plain Core INSERT: nothing needs the row back as an object, and the
    # ORM's unit of work is a large share of a reset request (docs/benchmarks.md).
    if has_request_context():
        columns.setdefault("locale", current_locale())
    db.session.execute(sa.insert(OutboxMessage.__table__), columns)
    db.session.info["mail_queued"] = True


def queue_account_mail(
    kind: str, user: User, address: str, expires_in: int | None = None, **details
) -> None:
    """Queue a kind of mail about user's account, rendered when it is sent."""
    queue(
        kind=kind,
        user_id=user.id,
        recipients=normalize_email(address)[:254],
        expires_at=utcnow() + timedelta(seconds=expires_in) if expires_in else None,
        details=details or None,
    )


def builds(kind: str) -> Callable[[Builder], Builder]:
    """Register a function that builds the message for an outbox row of kind."""

    def register(builder: Builder) -> Builder:
        BUILDERS[kind] = builder
        return builder

    return register


def account_mail(kind: str) -> Callable:
    """Register builder(row, user) for mail about a still-active account.

    It runs in that account's language; a closed account gets no mail.
    """

    def register(builder: Callable[[OutboxMessage, User], Message | None]):
        @wraps(builder)
        def build(row: OutboxMessage) -> Message | None:
            user = active_user(row.user_id) if row.user_id else None
            if user is None:
                return None
            with force_locale(reader_locale(user, row)):
                return builder(row, user)

        BUILDERS[kind] = build
        return builder

    return register


def message_for(row: OutboxMessage) -> Message:
    """The message a row stands for, or None when it no longer applies."""
    if row.kind == "email":
        return Message(
            row.subject,
            recipients=row.recipients.split(","),
            body=row.text_body,
            html=row.html_body,
        )
    # An unknown kind is a bug, not mail that no longer applies: it fails loudly.
    return BUILDERS[row.kind](row)


def reader_locale(reader: User, row: OutboxMessage) -> str:
    """The account's language, else that of the request that queued the mail."""
    return supported(reader.locale) or supported(row.locale) or DEFAULT_LOCALE


def seconds_left(expires_at: datetime) -> int:
    """Whole seconds until expires_at (never below one)."""
    return max(1, int((expires_at - utcnow()).total_seconds()))


def lifetime_text(seconds: int) -> str:
    """How long a link lives, in words a person reads at a glance."""
    if seconds < 2 * 3600:
        minutes = max(1, round(seconds / 60))
        return ngettext("%(num)s minute", "%(num)s minutes", minutes)
    if seconds < 2 * 86400:
        hours = round(seconds / 3600)
        return ngettext("%(num)s hour", "%(num)s hours", hours)
    days = round(seconds / 86400)
    return ngettext("%(num)s day", "%(num)s days", days)


def rendered(subject, address: str, template: str, **context) -> Message:
    """A message whose text and HTML parts come from email/<template>.txt/.html."""
    return Message(
        str(subject),
        recipients=[address],
        body=render_template(f"email/{template}.txt", **context),
        html=render_template(f"email/{template}.html", **context),
    )


def public_url(endpoint: str, **values) -> str:
    """An absolute link on SERVER_NAME, whatever Host the request carried."""
    scheme = current_app.config["PREFERRED_URL_SCHEME"]
    return url_for(endpoint, _external=True, _scheme=scheme, **values)
