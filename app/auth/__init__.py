"""Getting in: sign up, sign in (with a passkey, or a code after the password)
and out, and a forgotten password."""

from app.auth import passkeys, two_factor  # noqa: F401 - register views on bp
from app.auth.routes import bp

__all__ = ["bp"]
