"""Composing mail and putting it in the outbox; delivery lives in app.outbox."""

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app, render_template, url_for
from flask_mail import Message

from app import db
from app.models import OutboxMessage, User, normalize_email, utcnow

RESET_SUBJECT = "[Microblog] Reset your password"
CHANGED_SUBJECT = "[Microblog] Your password was changed"


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
    # A plain Core INSERT on the table: the ORM's unit of work (or its bulk
    # insert path) cost a reset request a sixth of its time, and nothing here
    # needs the row back as an object.
    db.session.execute(sa.insert(OutboxMessage.__table__), columns)
    db.session.info["mail_queued"] = True


def request_password_reset(address: str) -> None:
    """Queue a reset for whatever account address matches, if any.

    The account is looked up at delivery, so a request costs the same whether
    or not the address is registered.
    """
    expires = timedelta(seconds=current_app.config["RESET_TOKEN_EXPIRES"])
    queue(
        kind="password_reset",
        recipients=normalize_email(address)[:254],
        expires_at=utcnow() + expires,
    )


def send_password_reset_email(user: User) -> None:
    """Queue a reset link for user's stored address."""
    request_password_reset(user.email)


def password_reset_message(user: User, expires_at: datetime) -> Message:
    """The reset mail, with a link that expires at expires_at."""
    seconds_left = int((expires_at - utcnow()).total_seconds())
    token = user.get_reset_password_token(expires_in=seconds_left)
    link = public_url("auth.reset_password", token=token)
    minutes = max(1, round(seconds_left / 60))
    context = {"user": user, "link": link, "minutes": minutes}
    return Message(
        RESET_SUBJECT,
        recipients=[user.email],
        body=render_template("email/reset_password.txt", **context),
        html=render_template("email/reset_password.html", **context),
    )


def send_password_changed_email(user: User) -> None:
    """Tell the owner, at the stored address, that the password changed."""
    context = {"user": user, "link": public_url("auth.reset_password_request")}
    send_email(
        CHANGED_SUBJECT,
        [user.email],
        render_template("email/password_changed.txt", **context),
        render_template("email/password_changed.html", **context),
    )


def public_url(endpoint: str, **values) -> str:
    """An absolute link on SERVER_NAME, whatever Host the request carried."""
    scheme = current_app.config["PREFERRED_URL_SCHEME"]
    return url_for(endpoint, _external=True, _scheme=scheme, **values)
