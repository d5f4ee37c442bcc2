"""Forms for posting and for the profile."""

from flask_babel import lazy_gettext as _l
from wtforms import SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from app.forms import (
    REQUIRED,
    USERNAME_TAKEN,
    Form,
    no_control_characters,
    username_field,
    username_taken,
)


class EditProfileForm(Form):
    """Username and about-me text."""

    username = username_field()
    about_me = TextAreaField(_l("About me"), [Length(max=140), no_control_characters])
    submit = SubmitField(_l("Save"))

    def __init__(self, original_username: str, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.original_username = original_username

    def validate_username(self, username):
        """A new username must be free; a change of case of one's own is fine."""
        if username_taken(username.data, unless=self.original_username):
            raise ValidationError(USERNAME_TAKEN)


class PostForm(Form):
    """A new post."""

    post = TextAreaField(
        _l("Say something"),
        [DataRequired(REQUIRED), Length(min=1, max=140), no_control_characters],
    )
    submit = SubmitField(_l("Post"))
