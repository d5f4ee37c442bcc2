"""Posts, the feed, explore, profiles and follows."""

from app.main.routes import bp

__all__ = ["bp"]
