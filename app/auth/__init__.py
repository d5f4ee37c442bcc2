"""Getting in: sign up, sign in and out, and a forgotten password."""

from app.auth.routes import bp

__all__ = ["bp"]
