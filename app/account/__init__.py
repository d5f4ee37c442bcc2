"""Managing the account you have: settings, password, address and its undo."""

from app.account.routes import bp

__all__ = ["bp"]
