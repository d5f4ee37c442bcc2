"""Every form in the app, with its validators."""

import unicodedata

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import BooleanField, PasswordField, StringField, SubmitField, TextAreaField
from wtforms.validators import (
    DataRequired,
    Email,
    EqualTo,
    Length,
    Regexp,
    ValidationError,
)

from app import db
from app.i18n import Form
from app.models import User, normalize_email, username_is
from app.passwords import password_problem, personal_words

NEW_PASSWORD = {"autocomplete": "new-password"}
USERNAME_TAKEN = _l("That username is taken; please choose another.")
REQUIRED = _l("This field is required.")


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


class NewPasswordMixin:
    """The new password, typed twice, checked against the shared rules."""

    password = PasswordField(
        _l("New password"), [DataRequired(REQUIRED)], render_kw=NEW_PASSWORD
    )
    password2 = PasswordField(
        _l("Repeat new password"),
        [
            DataRequired(REQUIRED),
            EqualTo("password", message=_l("The passwords don't match.")),
        ],
        render_kw=NEW_PASSWORD,
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


class LoginForm(Form):
    """Username and password."""

    username = StringField(
        _l("Username"),
        [DataRequired(REQUIRED), Length(max=64), no_control_characters],
        filters=[strip_spaces],
        render_kw={"autocomplete": "username"},
    )
    password = PasswordField(
        _l("Password"),
        [DataRequired(REQUIRED)],
        render_kw={"autocomplete": "current-password"},
    )
    remember_me = BooleanField(_l("Remember me"))
    submit = SubmitField(_l("Sign in"))


class RegistrationForm(NewPasswordMixin, Form):
    """A new account."""

    username = StringField(
        _l("Username"),
        [
            DataRequired(REQUIRED),
            Length(max=64),
            Regexp(r"^[\w.-]+$", message=_l("Use letters, digits, '.', '-' or '_'.")),
        ],
        filters=[strip_spaces],
        render_kw={"autocomplete": "username"},
    )
    email = address_field(_l("Email"))
    password = PasswordField(
        _l("Password"), [DataRequired(REQUIRED)], render_kw=NEW_PASSWORD
    )
    password2 = PasswordField(
        _l("Repeat password"),
        [
            DataRequired(REQUIRED),
            EqualTo("password", message=_l("The passwords don't match.")),
        ],
        render_kw=NEW_PASSWORD,
    )
    submit = SubmitField(_l("Register"))

    # A taken address is not a form error: the view answers as for a fresh one,
    # so the form never tells a stranger who has an account. Usernames are public.
    def validate_username(self, username):
        """Usernames are unique regardless of case."""
        if username_taken(username.data):
            raise ValidationError(USERNAME_TAKEN)


def username_taken(username: str) -> bool:
    """Whether another account already uses this username in any case."""
    query = sa.select(User.id).where(username_is(username))
    return db.session.scalar(query) is not None


class EditProfileForm(Form):
    """Username and about-me text."""

    username = RegistrationForm.username
    about_me = TextAreaField(_l("About me"), [Length(max=140), no_control_characters])
    submit = SubmitField(_l("Save"))

    def __init__(self, original_username: str, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.original_username = original_username

    def validate_username(self, username):
        """A changed username must still be unique."""
        changed = username.data.lower() != self.original_username.lower()
        if changed and username_taken(username.data):
            raise ValidationError(USERNAME_TAKEN)


class EmptyForm(Form):
    """Just a CSRF-protected button (follow, unfollow, log out)."""

    submit = SubmitField(_l("Submit"))


class PostForm(Form):
    """A new post."""

    post = TextAreaField(
        _l("Say something"),
        [DataRequired(REQUIRED), Length(min=1, max=140), no_control_characters],
    )
    submit = SubmitField(_l("Post"))


class ResetPasswordRequestForm(Form):
    """The address to send a reset link to; every address gets the same answer."""

    email = StringField(
        _l("Email"),
        [
            DataRequired(REQUIRED),
            Length(max=254),
            no_control_characters,
            deliverable(compared=True),
        ],
        filters=[strip_spaces],
        render_kw={"autocomplete": "email"},
    )
    submit = SubmitField(_l("Send reset link"))


class ResetPasswordForm(NewPasswordMixin, Form):
    """A new password for the account the reset link belongs to."""

    submit = SubmitField(_l("Set new password"))


def check_current_password(field) -> None:
    """The signed-in user must prove they know the password."""
    if not current_user.check_password(field.data):
        raise ValidationError(_("That is not your current password."))


def current_password_field() -> PasswordField:
    """A password field for the signed-in user's current password."""
    return PasswordField(
        _l("Current password"),
        [DataRequired(REQUIRED)],
        render_kw={"autocomplete": "current-password"},
    )


class ChangeEmailForm(Form):
    """A new address, and the current password."""

    email = address_field(_l("New email address"))
    password = current_password_field()
    submit = SubmitField(_l("Send confirmation link"))

    def validate_password(self, field):
        """Only the account's owner may move it to another address."""
        check_current_password(field)

    def validate_email(self, email):
        """Moving to the address already on file would change nothing."""
        if normalize_email(email.data) == current_user.email_key:
            raise ValidationError(_("That is already your address."))


class ChangePasswordForm(NewPasswordMixin, Form):
    """The current password, then a new one twice."""

    current_password = current_password_field()
    submit = SubmitField(_l("Change password"))

    def validate_current_password(self, field):
        """Only the account's owner may choose its new password."""
        check_current_password(field)
