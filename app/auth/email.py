"""The mail of getting in: proving the address, a sign-up with a taken one, the
reset link and the notice that the password changed."""

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from flask_mail import Message

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
from app.models import CONFIRM_PURPOSE, User, normalize_email, utcnow

# Lazy: each is translated when a message is composed, in its reader's language.
RESET_SUBJECT = _l("[Microblog] Reset your password")
CONFIRM_SUBJECT = _l("[Microblog] Confirm your email address")
CHANGED_SUBJECT = _l("[Microblog] Your password was changed")
REGISTRATION_ATTEMPT_SUBJECT = _l(
    "[Microblog] Someone tried to register with this address"
)


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


@builds("password_reset")
def password_reset_row(row: OutboxMessage) -> Message | None:
    """The reset for whatever active account has the row's address now, if any."""
    user = User.by_email(row.recipients)
    if user is None or not user.active or not user.password_hash:
        return None
    with force_locale(reader_locale(user, row)):
        return password_reset_message(user, row.expires_at)


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


def send_registration_attempt_email(owner: User) -> None:
    """Tell an address's owner that someone tried to sign up with it."""
    queue_account_mail("registration_attempt", owner, owner.email)


@account_mail("registration_attempt")
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


def send_confirmation_email(user: User) -> None:
    """Queue a link that proves user's address on file."""
    lifetime = current_app.config["CONFIRM_EMAIL_EXPIRES"]
    queue_account_mail("confirm_email", user, user.email, lifetime)


@account_mail("confirm_email")
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


def send_password_changed_email(user: User) -> None:
    """Tell the owner, at the address on file, that the password changed."""
    queue_account_mail("password_changed", user, user.email)


@account_mail("password_changed")
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
