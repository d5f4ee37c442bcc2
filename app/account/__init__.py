"""Managing the account you have: settings, password, address and its undo, and
the second factor."""

from app.account import two_factor  # noqa: F401 - registers its views on bp
from app.account.routes import bp

__all__ = ["bp"]
