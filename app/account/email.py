"""The mail of managing an account: changing the address, undoing a change, and
the goodbye when it is deleted."""

from datetime import datetime

from flask import current_app
from flask_babel import force_locale, format_datetime
from flask_babel import lazy_gettext as _l
from flask_mail import Message

from app.i18n import DEFAULT_LOCALE, supported
from app.mail.compose import (
    account_mail,
    builds,
    lifetime_text,
    public_url,
    queue,
    queue_account_mail,
    reader_locale,
    rendered,
    seconds_left,
)
from app.mail.models import OutboxMessage
from app.models import (
    CHANGE_PURPOSE,
    REVERT_PURPOSE,
    User,
    normalize_email,
    undo_window,
    utcnow,
)

# Lazy: each is translated when a message is composed, in its reader's language.
CHANGE_SUBJECT = _l("[Microblog] Confirm your new email address")
CHANGE_TAKEN_SUBJECT = _l("[Microblog] Someone tried to use this address")
EMAIL_CHANGED_SUBJECT = _l("[Microblog] Your email address was changed")
GOODBYE_SUBJECT = _l("[Microblog] Your account was deleted")


def send_change_email_link(user: User) -> None:
    """Queue the link that applies user's pending address, to that address."""
    lifetime = current_app.config["CHANGE_EMAIL_EXPIRES"]
    queue_account_mail("change_email", user, user.pending_email, lifetime)


@account_mail("change_email")
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


def send_change_email_taken_email(user: User, address: str) -> None:
    """Tell the holder of address that another account asked to move to it."""
    queue_account_mail("change_email_taken", user, address)


@account_mail("change_email_taken")
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


def send_email_changed_emails(user: User, replaced: str, ip: str, browser: str):
    """Tell the replaced address, and the one an undo restores, of a change.

    Each notice carries what it reports (from, to, when, where), so a later
    change can't rewrite or drop it before it is sent.
    """
    lifetime = int(undo_window().total_seconds())
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


@account_mail("email_changed")
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


def send_goodbye_email(username: str, address: str, locale: str | None) -> None:
    """Queue the one goodbye to a deleted account's address."""
    queue(
        kind="goodbye",
        recipients=normalize_email(address)[:254],
        details={"username": username, "address": address},
        locale=locale,
    )


@builds("goodbye")
def goodbye_message(row: OutboxMessage) -> Message:
    """The goodbye: the account is gone; the name and address are free again."""
    details = row.details
    with force_locale(supported(row.locale) or DEFAULT_LOCALE):
        return rendered(
            GOODBYE_SUBJECT,
            details["address"],
            "goodbye",
            username=details["username"],
            register_link=public_url("auth.register"),
        )
