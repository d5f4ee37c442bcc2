"""The mail of getting in: proving the address, a sign-up with a taken one, the
reset link, the notice that the password changed, and security notices (the
second factor turned on or off, wrong codes after a right password, a recovery
code used)."""

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import force_locale, format_datetime
from flask_babel import gettext as _
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
from app.request_helpers import browser_name, client_ip

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


# Each security notice: its subject, what happened, and what to do if it was not you.
NOTICES = {
    "two_factor_on": (
        _l("[Microblog] Two-factor sign-in was turned on"),
        _l("Two-factor sign-in was turned on for your account."),
    ),
    "two_factor_off": (
        _l("[Microblog] Two-factor sign-in was turned off"),
        _l("Two-factor sign-in was turned off for your account."),
    ),
    "two_factor_off_by_operator": (
        _l("[Microblog] Two-factor sign-in was turned off"),
        _l(
            "The site's administrators turned two-factor sign-in off for your "
            "account, as asked when the phone and the recovery codes were lost."
        ),
    ),
    "code_failures": (
        _l("[Microblog] Someone has your password"),
        _l(
            "Someone signed in with your password but not with your code: too many "
            "wrong codes were typed, so codes are refused for an hour. Your account "
            "is safe only while your phone is: change your password now."
        ),
    ),
    "passkey_added": (
        _l("[Microblog] A passkey was added"),
        _l("A passkey named “%(name)s” was added to your account: it signs in alone."),
    ),
    "passkey_removed": (
        _l("[Microblog] A passkey was removed"),
        _l("The passkey named “%(name)s” was removed from your account."),
    ),
    "new_device": (
        _l("[Microblog] A sign-in from a new device"),
        _l(
            "Your account was signed in from a device it had not used before: %(name)s."
        ),
    ),
    "recovery_code_used": (
        _l("[Microblog] A recovery code was used"),
        _l("Someone signed in to your account with one of its recovery codes."),
    ),
}


def device_words(browser: str, system: str) -> str:
    """ "Firefox on Windows", in the current language."""
    browser = browser or _("an unknown browser")
    return (
        _("%(browser)s on %(system)s", browser=browser, system=system)
        if system
        else browser
    )


def notice_device(details: dict) -> str:
    """The device a new-device notice names, in the reader's language."""
    return device_words(
        details.get("device_browser", ""), details.get("device_system", "")
    )


def send_new_device_email(user: User, device: tuple[str, str]) -> None:
    """Tell the owner of a sign-in from a device the account never used."""
    send_security_notice(
        user,
        "new_device",
        client_ip(),
        browser_name(),
        device_browser=device[0],
        device_system=device[1],
    )


def send_security_notice(
    user: User, event: str, ip: str | None, browser: str | None, **extra
):
    """Tell the owner, at the address on file, of a change to how they sign in."""
    details = {"event": event, "when": utcnow().isoformat(), "ip": ip}
    queue_account_mail(
        "security_notice", user, user.email, browser=browser, **details, **extra
    )


@account_mail("security_notice")
def security_notice_message(row: OutboxMessage, user: User) -> Message | None:
    """A security notice: what happened, when, from where, and what to do."""
    if user.email_key != row.recipients:
        return None
    details = row.details
    subject, lead = NOTICES[details["event"]]
    return rendered(
        subject,
        user.email,
        "security_notice",
        user=user,
        lead=str(lead) % {"name": details.get("name") or notice_device(details)},
        details=details,
        when=format_datetime(datetime.fromisoformat(details["when"]), "long"),
        settings_link=public_url("account.settings"),
        sessions_link=public_url("account.sessions"),
        reset_link=public_url("auth.reset_password_request"),
    )
