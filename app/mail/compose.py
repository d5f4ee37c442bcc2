"""Composing mail and putting it in the outbox; delivery lives in app.outbox."""

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app, has_request_context, render_template, url_for
from flask_babel import force_locale, format_datetime, ngettext
from flask_babel import lazy_gettext as _l
from flask_mail import Message

from app import db
from app.i18n import DEFAULT_LOCALE, current_locale, supported
from app.models import (
    CHANGE_PURPOSE,
    CONFIRM_PURPOSE,
    REVERT_PURPOSE,
    OutboxMessage,
    User,
    active_user,
    normalize_email,
    utcnow,
)

# Lazy: each is translated when a message is composed, in its reader's language.
RESET_SUBJECT = _l("[Microblog] Reset your password")
CHANGED_SUBJECT = _l("[Microblog] Your password was changed")
CONFIRM_SUBJECT = _l("[Microblog] Confirm your email address")
CHANGE_SUBJECT = _l("[Microblog] Confirm your new email address")
CHANGE_TAKEN_SUBJECT = _l("[Microblog] Someone tried to use this address")
EMAIL_CHANGED_SUBJECT = _l("[Microblog] Your email address was changed")
REGISTRATION_ATTEMPT_SUBJECT = _l(
    "[Microblog] Someone tried to register with this address"
)


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
    if has_request_context():
        columns.setdefault("locale", current_locale())
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


def send_confirmation_email(user: User) -> None:
    """Queue a link that proves user's address on file."""
    lifetime = current_app.config["CONFIRM_EMAIL_EXPIRES"]
    queue_account_mail("confirm_email", user, user.email, lifetime)


def send_registration_attempt_email(owner: User) -> None:
    """Tell an address's owner that someone tried to sign up with it."""
    queue_account_mail("registration_attempt", owner, owner.email)


def send_change_email_link(user: User) -> None:
    """Queue the link that applies user's pending address, to that address."""
    lifetime = current_app.config["CHANGE_EMAIL_EXPIRES"]
    queue_account_mail("change_email", user, user.pending_email, lifetime)


def send_change_email_taken_email(user: User, address: str) -> None:
    """Tell the holder of address that another account asked to move to it."""
    queue_account_mail("change_email_taken", user, address)


def send_email_changed_emails(user: User, replaced: str, ip: str, browser: str):
    """Tell the replaced address, and the one an undo restores, of a change.

    Each notice carries what it reports (from, to, when, where), so a later
    change can't rewrite or drop it before it is sent.
    """
    lifetime = current_app.config["REVERT_EMAIL_EXPIRES"]
    details = {
        "from": replaced,
        "to": user.email,
        "when": utcnow().isoformat(),
        "ip": ip,
        "browser": browser,
    }
    told = {normalize_email(replaced): replaced}
    if user.previous_email:
        told.setdefault(normalize_email(user.previous_email), user.previous_email)
    for address in told.values():
        queue_account_mail(
            "email_changed", user, address, lifetime, **details, recipient=address
        )


def send_password_reset_email(user: User) -> None:
    """Queue a reset link for user's stored address."""
    request_password_reset(user.email)


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


def confirmation_message(row: OutboxMessage, user: User) -> Message | None:
    """The confirmation link, while that address is still on file and unproven."""
    if user.email_confirmed or user.email_key != row.recipients:
        return None
    seconds = seconds_left(row.expires_at)
    token = user.get_token(CONFIRM_PURPOSE, seconds)
    link = public_url("account.confirm_email", token=token)
    return rendered(
        CONFIRM_SUBJECT,
        user.email,
        "confirm_email",
        user=user,
        link=link,
        lifetime=lifetime_text(seconds),
    )


def change_email_message(row: OutboxMessage, user: User) -> Message | None:
    """The link to the new address, while that change is still the pending one."""
    if not user.pending_email or normalize_email(user.pending_email) != row.recipients:
        return None
    seconds = seconds_left(row.expires_at)
    token = user.get_token(CHANGE_PURPOSE, seconds)
    link = public_url("account.apply_email_change", token=token)
    return rendered(
        CHANGE_SUBJECT,
        user.pending_email,
        "change_email",
        user=user,
        link=link,
        lifetime=lifetime_text(seconds),
    )


def change_email_taken_message(row: OutboxMessage, user: User) -> Message | None:
    """To the account that holds an address another account asked to move to."""
    holder = User.by_email(row.recipients)
    if holder is None:
        return None
    link = public_url("auth.reset_password_request")
    with force_locale(reader_locale(holder, row)):
        return rendered(
            CHANGE_TAKEN_SUBJECT,
            holder.email,
            "change_email_taken",
            holder=holder,
            reset_link=link,
        )


def email_changed_message(row: OutboxMessage, user: User) -> Message | None:
    """The notice of a change, with the undo link while the undo is possible."""
    details = row.details or {}
    seconds = seconds_left(row.expires_at)
    link = None
    if user.can_undo_email_change():
        token = user.get_token(REVERT_PURPOSE, seconds)
        link = public_url("account.revert_email", token=token)
    return rendered(
        EMAIL_CHANGED_SUBJECT,
        details["recipient"],
        "email_changed",
        user=user,
        details=details,
        when=format_datetime(datetime.fromisoformat(details["when"]), "long"),
        lifetime=lifetime_text(seconds),
        link=link,
    )


def registration_attempt_message(row: OutboxMessage, user: User) -> Message | None:
    """To an address's owner: someone tried to sign up with it."""
    if user.email_key != row.recipients:
        return None
    return rendered(
        REGISTRATION_ATTEMPT_SUBJECT,
        user.email,
        "registration_attempt",
        user=user,
        login_link=public_url("auth.login"),
        reset_link=public_url("auth.reset_password_request"),
    )


def password_changed_message(row: OutboxMessage, user: User) -> Message | None:
    """The notice that the password changed, to the address on file."""
    if user.email_key != row.recipients:
        return None
    return rendered(
        CHANGED_SUBJECT,
        user.email,
        "password_changed",
        user=user,
        link=public_url("auth.reset_password_request"),
    )


# Mail about an account, rendered at delivery from the account as it is then.
ACCOUNT_MESSAGES = {
    "confirm_email": confirmation_message,
    "change_email": change_email_message,
    "change_email_taken": change_email_taken_message,
    "email_changed": email_changed_message,
    "registration_attempt": registration_attempt_message,
    "password_changed": password_changed_message,
}


def message_for(row: OutboxMessage) -> Message | None:
    """The message a row stands for, or None when it no longer applies.

    Rendered now, in the language of the account it goes to (else of the
    request that queued it), so no live link ever waits in the outbox.
    """
    if row.kind == "email":
        return Message(
            row.subject,
            recipients=row.recipients.split(","),
            body=row.text_body,
            html=row.html_body,
        )
    if row.kind == "password_reset":
        user = User.by_email(row.recipients)
        if user is None or not user.active or not user.password_hash:
            return None
        with force_locale(reader_locale(user, row)):
            return password_reset_message(user, row.expires_at)
    user = active_user(row.user_id) if row.user_id else None
    if user is None or row.kind not in ACCOUNT_MESSAGES:
        return None
    with force_locale(reader_locale(user, row)):
        return ACCOUNT_MESSAGES[row.kind](row, user)


def reader_locale(reader: User, row: OutboxMessage) -> str:
    """The account's language, else that of the request that queued the mail."""
    return supported(reader.locale) or supported(row.locale) or DEFAULT_LOCALE


def password_reset_message(user: User, expires_at: datetime) -> Message:
    """The reset mail, with a link that expires at expires_at."""
    seconds = seconds_left(expires_at)
    token = user.get_reset_password_token(expires_in=seconds)
    link = public_url("auth.reset_password", token=token)
    return rendered(
        RESET_SUBJECT,
        user.email,
        "reset_password",
        user=user,
        link=link,
        lifetime=lifetime_text(seconds),
    )


def send_password_changed_email(user: User) -> None:
    """Tell the owner, at the address on file, that the password changed."""
    queue_account_mail("password_changed", user, user.email)


def public_url(endpoint: str, **values) -> str:
    """An absolute link on SERVER_NAME, whatever Host the request carried."""
    scheme = current_app.config["PREFERRED_URL_SCHEME"]
    return url_for(endpoint, _external=True, _scheme=scheme, **values)
