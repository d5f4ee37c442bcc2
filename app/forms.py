"""What every form shares: the base class, and the fields and checks features reuse."""

import os
import unicodedata
from functools import cache

import sqlalchemy as sa
import wtforms
from babel.support import Translations
from flask import current_app, g, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import generate_csrf
from flask_wtf.form import _Auto
from markupsafe import Markup, escape
from wtforms import PasswordField, StringField, SubmitField
from wtforms.validators import (
    DataRequired,
    Email,
    EqualTo,
    Length,
    Regexp,
    ValidationError,
)

from app import db
from app.i18n import WTFORMS_CATALOGS, current_locale
from app.models import User, normalize_email, username_is
from app.passwords import password_problem, personal_words

NEW_PASSWORD = {"autocomplete": "new-password"}
USERNAME_TAKEN = _l("That username is taken; please choose another.")
REQUIRED = _l("This field is required.")


@cache
def wtforms_translations(locale: str) -> Translations:
    """WTForms' own catalog for locale (loaded once per process)."""
    folder = os.path.join(os.path.dirname(wtforms.__file__), "locale")
    return Translations.load(folder, [WTFORMS_CATALOGS[locale]], domain="wtforms")


class Form(FlaskForm):
    """Every form's base: WTForms' own messages in the reader's language."""

    class Meta(FlaskForm.Meta):
        """Traditional, not Simplified, Chinese for WTForms' built-in messages."""

        def get_translations(self, form):
            """WTForms' catalog for the current locale; none for English."""
            locale = current_locale()
            if locale in WTFORMS_CATALOGS:
                return wtforms_translations(locale)
            return None  # WTForms' own English

        def wrap_formdata(self, form, formdata):
            """On the way back from /reauthenticate, what was typed before it."""
            resumed = g.get("resumed")
            if formdata is _Auto and resumed is not None and request.method == "GET":
                return resumed
            return super().wrap_formdata(form, formdata)


def csrf_input() -> Markup:
    """The hidden CSRF field every POST form carries (templates: csrf_input())."""
    token = escape(generate_csrf())
    return Markup(f'<input type="hidden" name="csrf_token" value="{token}">')  # noqa: S704


class EmptyForm(Form):
    """Just a CSRF-protected button (follow, unfollow, log out)."""

    submit = SubmitField(_l("Submit"))


def no_control_characters(form, field):
    """Refuse invisible control characters (a NUL can't even be stored)."""
    if isinstance(field.data, str) and any(
        unicodedata.category(char) == "Cc" and char not in "\r\n\t"
        for char in field.data
    ):
        raise ValidationError(_("Remove the invisible control characters."))


def fits_as_address(form, field):
    """The compared form of an address can be longer than what was typed."""
    if isinstance(field.data, str) and len(normalize_email(field.data)) > 254:
        raise ValidationError(_("This address is too long."))


UNDELIVERABLE = _l(
    "This address has letters outside English in the part before @, which our mail "
    "server can't deliver to. Please use another address."
)


def deliverable(compared: bool = False):
    """Refuse letters beyond ASCII before the @, unless the relay speaks SMTPUTF8.

    A domain beyond ASCII is fine (it is sent IDNA-encoded). compared: check the
    form addresses are compared in, for a reset request, which mails the stored
    address it matches: one of those can be ASCII only if this is.
    """

    def check(form, field):
        if field.errors or current_app.config["MAIL_SMTPUTF8"]:
            return  # one reason at a time
        address = normalize_email(field.data) if compared else field.data
        local, at, domain = address.rpartition("@")
        if at and not local.isascii():
            raise ValidationError(UNDELIVERABLE)

    return check


def address_field(label) -> StringField:
    """An email address someone types: trimmed, checked, no longer than it may be."""
    return StringField(
        label,
        [
            DataRequired(REQUIRED),
            Length(max=254),
            no_control_characters,
            Email(),
            fits_as_address,
            deliverable(),
        ],
        filters=[strip_spaces],
        render_kw={"autocomplete": "email"},
    )


def strip_spaces(value):
    """Trim the blanks people paste around names and addresses."""
    return value.strip() if isinstance(value, str) else value


def username_field() -> StringField:
    """A username to choose: letters, digits and '.-_', unique in any case."""
    return StringField(
        _l("Username"),
        [
            DataRequired(REQUIRED),
            Length(max=64),
            Regexp(r"^[\w.-]+$", message=_l("Use letters, digits, '.', '-' or '_'.")),
        ],
        filters=[strip_spaces],
        render_kw={"autocomplete": "username"},
    )


def username_taken(username: str, unless: str | None = None) -> bool:
    """Whether another account uses username in any case (unless it is unless)."""
    query = sa.select(User.id).where(username_is(username))
    if unless is not None:
        query = query.where(~username_is(unless))
    return db.session.scalar(query) is not None


def current_password_field(label=None) -> PasswordField:
    """A password field for the password the person has now."""
    return PasswordField(
        label or _l("Current password"),
        [DataRequired(REQUIRED)],
        render_kw={"autocomplete": "current-password"},
    )


CODE_TOO_LONG = _l("A code is 6 digits, or a recovery code like abcd-efgh-jkmn.")


def code_field(label=None, numeric: bool = False) -> StringField:
    """A code from an authenticator app (numeric) or, where allowed, a recovery code."""
    render_kw = {"autocomplete": "one-time-code", "autocapitalize": "off"}
    if numeric:
        render_kw["inputmode"] = "numeric"
    return StringField(
        label or _l("Code"),
        [DataRequired(REQUIRED), Length(max=64, message=CODE_TOO_LONG)],
        filters=[strip_spaces],
        render_kw=render_kw,
    )


def check_current_password(field) -> None:
    """The signed-in user must prove they know the password."""
    if not current_user.check_password(field.data):
        raise ValidationError(_("That is not your current password."))


def new_password_fields(label, repeat_label) -> tuple[PasswordField, PasswordField]:
    """A new password and its repetition, which must match."""
    password = PasswordField(label, [DataRequired(REQUIRED)], render_kw=NEW_PASSWORD)
    repeat = PasswordField(
        repeat_label,
        [
            DataRequired(REQUIRED),
            EqualTo("password", message=_l("The passwords don't match.")),
        ],
        render_kw=NEW_PASSWORD,
    )
    return password, repeat


class NewPasswordMixin:
    """The new password, typed twice, checked against the shared rules."""

    password, password2 = new_password_fields(
        _l("New password"), _l("Repeat new password")
    )

    def personal_words(self) -> tuple[str, ...]:
        """The username and email the password must not contain."""
        user = getattr(self, "user", None)
        if user is not None:
            return personal_words(user.username, user.email)
        return personal_words(self.username.data, self.email.data)

    def validate_password(self, field):
        """Apply the password rules, with the reason next to the field."""
        problem = password_problem(field.data, self.personal_words())
        if problem:
            raise ValidationError(problem)
