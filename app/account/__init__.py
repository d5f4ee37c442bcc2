"""Managing the account you have: settings, password, address and its undo, and
the second factor, passkeys,
where you are signed in, and taking your data and leaving (each module registers
its views on bp)."""

from app.account import leaving, passkeys, sessions, two_factor  # noqa: F401
from app.account.routes import bp

__all__ = ["bp"]
