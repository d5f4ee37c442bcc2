"""Where an account is signed in: one record per sign-in, ended one by one.

The browser holds a random key (inside Flask-Login's id, with the account's
session token); only its digest is stored. Every request checks the record,
so a session ended here is anonymous at its next request in every worker.
"""

import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app

from app import db
from app.models.clock import Timestamp, utcnow

# How long a session nobody uses stays open (remember-me cookies last as long).
IDLE_LIMIT = timedelta(days=30)
SEEN_RESOLUTION = timedelta(minutes=1)
METHODS = ("password", "code", "recovery code", "passkey")


def key_digest(key: str) -> str:
    """The stored form of a browser's session key."""
    return hashlib.sha256(key.encode()).hexdigest()


class UserSession(db.Model):
    """One signed-in browser of an account."""

    __tablename__ = "user_session"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="CASCADE"), index=True
    )
    key_digest: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    # From the User-Agent (ua-parser): "Firefox" and "Windows"; the client
    # address; how it signed in (METHODS).
    browser: so.Mapped[str] = so.mapped_column(sa.String(60))
    system: so.Mapped[str] = so.mapped_column(sa.String(60))
    ip: so.Mapped[str] = so.mapped_column(sa.String(64))
    method: so.Mapped[str] = so.mapped_column(sa.String(16))
    started_at: so.Mapped[datetime] = so.mapped_column(Timestamp(), default=utcnow)
    last_seen_at: so.Mapped[datetime] = so.mapped_column(Timestamp(), default=utcnow)
    ended_at: so.Mapped[datetime | None] = so.mapped_column(Timestamp())

    @property
    def open(self) -> bool:
        """Whether this session still signs its browser in."""
        return self.ended_at is None and utcnow() - self.last_seen_at < IDLE_LIMIT

    @staticmethod
    def start(
        user_id: int, device: tuple[str, str], ip: str, method: str
    ) -> tuple[str, "UserSession"]:
        """Record a new sign-in; return the key its browser keeps, and the record."""
        prune(user_id)
        key = secrets.token_urlsafe(32)
        record = UserSession(
            user_id=user_id,
            key_digest=key_digest(key),
            browser=device[0][:60],
            system=device[1][:60],
            ip=ip[:64],
            method=method,
        )
        db.session.add(record)
        db.session.flush()
        return key, record


def end_sessions(user_id: int, keep: int | None = None) -> int:
    """End every open session of an account (but keep); how many ended."""
    query = sa.update(UserSession).where(
        UserSession.user_id == user_id, UserSession.ended_at.is_(None)
    )
    if keep is not None:
        query = query.where(UserSession.id != keep)
    return db.session.execute(
        query.values(ended_at=utcnow()).execution_options(synchronize_session=False)
    ).rowcount


def prune(user_id: int) -> None:
    """Forget an account's ended and expired sessions after a while."""
    keep_for = timedelta(days=current_app.config["SESSIONS_KEPT_DAYS"])
    cutoff = utcnow() - keep_for
    db.session.execute(
        sa.delete(UserSession).where(
            UserSession.user_id == user_id,
            sa.or_(
                UserSession.ended_at < cutoff,
                UserSession.last_seen_at < cutoff - IDLE_LIMIT,
            ),
        )
    )


def sessions_of(user_id: int) -> list[UserSession]:
    """An account's sessions, newest first: open ones, and recently ended ones."""
    return db.session.scalars(
        sa.select(UserSession)
        .where(UserSession.user_id == user_id)
        .order_by(UserSession.started_at.desc(), UserSession.id.desc())
    ).all()


def device_known(user_id: int, device: tuple[str, str]) -> bool | None:
    """Whether the account signed in from device before; None: never signed in."""
    rows = db.session.execute(
        sa.select(UserSession.browser, UserSession.system).where(
            UserSession.user_id == user_id
        )
    ).all()
    if not rows:
        return None
    return any(tuple(row) == device for row in rows)


def end_session(session_id: int | None) -> None:
    """End one session (this browser's, when it signs out)."""
    if session_id is not None:
        db.session.execute(
            sa.update(UserSession)
            .where(UserSession.id == session_id, UserSession.ended_at.is_(None))
            .values(ended_at=utcnow())
            .execution_options(synchronize_session=False)
        )


def note_seen(session_id: int | None, seen: datetime | None) -> bool:
    """Move a session's last-seen time on, at most once a minute; True if moved."""
    now = utcnow()
    if session_id is None or seen is None or now - seen <= SEEN_RESOLUTION:
        return False
    db.session.execute(
        sa.update(UserSession)
        .where(UserSession.id == session_id)
        .values(last_seen_at=now)
        .execution_options(synchronize_session=False)
    )
    return True
