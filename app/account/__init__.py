"""Managing the account you have: settings, password, address and its undo, and
the second factor, passkeys."""

from app.account import passkeys, two_factor  # noqa: F401 - register views on bp
from app.account.routes import bp

__all__ = ["bp"]
