"""Forms for managing the account you have: its password and its address."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import SubmitField
from wtforms.validators import ValidationError

from app.forms import (
    Form,
    NewPasswordMixin,
    address_field,
    check_current_password,
    current_password_field,
)
from app.models import normalize_email


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
