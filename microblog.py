"""The WSGI entry point (`app`) and the `flask shell` context."""

import sqlalchemy as sa
import sqlalchemy.orm as so

from app import create_app, db
from app.mail.models import OutboxMessage
from app.models import Post, User

app = create_app()


@app.shell_context_processor
def make_shell_context():
    """Names `flask shell` starts with."""
    return {
        "sa": sa,
        "so": so,
        "db": db,
        "User": User,
        "Post": Post,
        "OutboxMessage": OutboxMessage,
    }
