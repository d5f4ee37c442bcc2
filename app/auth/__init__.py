"""Getting in: sign up, sign in (and its second step) and out, a forgotten password."""

from app.auth import two_factor  # noqa: F401 - registers its views on bp
from app.auth.routes import bp

__all__ = ["bp"]
