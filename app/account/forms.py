"""Forms for managing the account you have: password, address, second factor."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired, Length, ValidationError

from app.forms import (
    REQUIRED,
    Form,
    NewPasswordMixin,
    address_field,
    check_current_password,
    code_field,
    current_password_field,
    no_control_characters,
    strip_spaces,
)
from app.models import normalize_email
from app.models.two_factor import code_text, is_totp_code


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


class EnableTwoFactorForm(Form):
    """The first code from the authenticator app, proving it holds the key."""

    code = code_field(_l("The 6-digit code your app shows"), numeric=True)
    submit = SubmitField(_l("Turn on two-factor sign-in"))

    def validate_code(self, field):
        """Six digits; the view checks them against the key."""
        if not is_totp_code(code_text(field.data)):
            raise ValidationError(_("Type the 6 digits your app shows."))


class DisableTwoFactorForm(Form):
    """The password and a current code (or a recovery code)."""

    password = current_password_field()
    code = code_field(_l("Code from your authenticator app, or a recovery code"))
    submit = SubmitField(_l("Turn off two-factor sign-in"))

    def validate_password(self, field):
        """Only the account's owner may turn it off."""
        check_current_password(field)


class PasskeyNameForm(Form):
    """The name a passkey is listed under."""

    name = StringField(
        _l("Name"),
        [DataRequired(REQUIRED), Length(max=64), no_control_characters],
        filters=[strip_spaces],
    )
    submit = SubmitField(_l("Save"))


class DeleteAccountForm(Form):
    """The password, and a code when the second factor is on (the view drops it
    otherwise)."""

    password = current_password_field()
    code = code_field(_l("Code from your authenticator app, or a recovery code"))
    submit = SubmitField(_l("Delete my account and everything in it"))

    def validate_password(self, field):
        """Only the account's owner may delete it."""
        check_current_password(field)
