"""Forms for getting in: sign in, sign up, and a forgotten password."""

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, ValidationError

from app.forms import (
    REQUIRED,
    USERNAME_TAKEN,
    Form,
    NewPasswordMixin,
    address_field,
    code_field,
    current_password_field,
    deliverable,
    new_password_fields,
    no_control_characters,
    strip_spaces,
    username_field,
    username_taken,
)


class LoginForm(Form):
    """Username and password."""

    username = StringField(
        _l("Username"),
        [DataRequired(REQUIRED), Length(max=64), no_control_characters],
        filters=[strip_spaces],
        render_kw={"autocomplete": "username"},
    )
    password = current_password_field(_l("Password"))
    remember_me = BooleanField(_l("Remember me"))
    submit = SubmitField(_l("Sign in"))


class RegistrationForm(NewPasswordMixin, Form):
    """A new account."""

    username = username_field()
    email = address_field(_l("Email"))
    password, password2 = new_password_fields(_l("Password"), _l("Repeat password"))
    submit = SubmitField(_l("Register"))

    # A taken address is not a form error: the view answers as for a fresh one,
    # so the form never tells a stranger who has an account. Usernames are public.
    def validate_username(self, username):
        """Usernames are unique regardless of case."""
        if username_taken(username.data):
            raise ValidationError(USERNAME_TAKEN)


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


class TwoFactorForm(Form):
    """The second step of signing in: a code from the app, or a recovery code."""

    code = code_field(_l("Code from your authenticator app, or a recovery code"))
    submit = SubmitField(_l("Verify"))


class ReauthenticateForm(Form):
    """Proof, just now, that the person at the keyboard owns the account."""

    password = current_password_field(_l("Password"))
    submit = SubmitField(_l("Continue"))


class ReauthenticateCodeForm(Form):
    """The same proof for an account with a second factor: one of its codes."""

    code = code_field(_l("Code from your authenticator app, or a recovery code"))
    submit = SubmitField(_l("Continue"))
