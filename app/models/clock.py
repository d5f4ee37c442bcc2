"""Time as the models store it: aware UTC, whatever the database hands back."""

from datetime import UTC, datetime

import sqlalchemy as sa


def utcnow() -> datetime:
    """Now, as an aware UTC datetime."""
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """The same instant as an aware UTC datetime (SQLite hands back naive ones)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


class Timestamp(sa.types.TypeDecorator):
    """A UTC timestamp that always comes back timezone-aware, SQLite included."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value, dialect):
        """Attach UTC to the naive datetimes SQLite returns."""
        return None if value is None else as_utc(value)
