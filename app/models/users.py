"""Accounts: who a person is, how they sign in, and the address they prove."""

import hashlib
import json
import secrets
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Optional

import sqlalchemy as sa
import sqlalchemy.orm as so
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_login import UserMixin
from werkzeug.security import check_password_hash

from app import db, login
from app.models.clock import Timestamp, as_utc, utcnow
from app.models.posts import (
    FEED,
    FOLLOWED_BY,
    FOLLOWERS_OF,
    NEWEST_FIRST,
    Post,
    followers,
)
from app.models.sessions import IDLE_LIMIT, UserSession, end_sessions, key_digest
from app.models.two_factor import SecondFactor
from app.text import fold
from app.tokens import make_token, read_token

RESET_PURPOSE = "password-reset"
RESET_AUDIENCE = f"microblog:{RESET_PURPOSE}"
CONFIRM_PURPOSE = "confirm-email"
CHANGE_PURPOSE = "change-email"
REVERT_PURPOSE = "revert-email"


def undo_window() -> timedelta:
    """How long a changed address may be restored (its undo link's lifetime)."""
    return timedelta(seconds=current_app.config["REVERT_EMAIL_EXPIRES"])


def normalize_email(address: str) -> str:
    """The form two addresses are compared in (app.text.fold), blanks trimmed."""
    return fold(address.strip())


def new_session_token() -> str:
    """A fresh random id for Flask-Login sessions and remember-me cookies."""
    return secrets.token_urlsafe(32)


@lru_cache(maxsize=4096)
def avatar_url(email: str, size: int) -> str:
    """The Gravatar identicon URL for an address (hashed once per address)."""
    digest = hashlib.md5(email.lower().encode(), usedforsecurity=False).hexdigest()
    return f"https://www.gravatar.com/avatar/{digest}?d=identicon&s={size}"


def password_hasher() -> PasswordHasher:
    """The argon2id hasher with this app's cost settings."""
    config = current_app.config
    return PasswordHasher(
        time_cost=config["ARGON2_TIME_COST"],
        memory_cost=config["ARGON2_MEMORY_COST"],
        parallelism=1,
    )


class User(UserMixin, SecondFactor, db.Model):
    """A person with an account."""

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    username: so.Mapped[str] = so.mapped_column(sa.String(64), index=True, unique=True)
    email: so.Mapped[str] = so.mapped_column(sa.String(254))
    email_key: so.Mapped[str] = so.mapped_column(
        sa.String(254), index=True, unique=True
    )
    password_hash: so.Mapped[str | None] = so.mapped_column(sa.String(256))
    session_token: so.Mapped[str] = so.mapped_column(
        sa.String(64), unique=True, default=new_session_token
    )
    active: so.Mapped[bool] = so.mapped_column(default=True)
    about_me: so.Mapped[str | None] = so.mapped_column(sa.String(140))
    last_seen: so.Mapped[datetime | None] = so.mapped_column(
        Timestamp(), default=utcnow
    )
    # The language pages and mail are in (app.i18n.LANGUAGES); NULL: the browser's.
    locale: so.Mapped[str | None] = so.mapped_column(sa.String(16))
    # When the address on file was proven by following a link mailed to it.
    email_confirmed_at: so.Mapped[datetime | None] = so.mapped_column(Timestamp())
    # A requested change of address, applied only once its link is followed.
    pending_email: so.Mapped[str | None] = so.mapped_column(sa.String(254))
    pending_email_since: so.Mapped[datetime | None] = so.mapped_column(Timestamp())
    # The address before the last change, which its owner may restore.
    previous_email: so.Mapped[str | None] = so.mapped_column(sa.String(254))
    previous_email_key: so.Mapped[str | None] = so.mapped_column(
        sa.String(254), index=True
    )
    email_changed_at: so.Mapped[datetime | None] = so.mapped_column(Timestamp())
    # The second factor (app.models.two_factor): the authenticator key, encrypted
    # (never plain), the last time step a code was accepted for, when it was
    # turned on, and this hour's wrong codes.
    totp_key: so.Mapped[str | None] = so.mapped_column(sa.String(255))
    totp_last_step: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)
    two_factor_since: so.Mapped[datetime | None] = so.mapped_column(Timestamp())
    code_failures: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    code_failures_since: so.Mapped[datetime | None] = so.mapped_column(Timestamp())
    # The random user id this account's passkeys carry (app.models.passkeys).
    passkey_handle: so.Mapped[str | None] = so.mapped_column(sa.String(64), unique=True)

    # Deleting a user deletes their posts and follows in the database itself.
    posts: so.WriteOnlyMapped["Post"] = so.relationship(
        back_populates="author", passive_deletes=True
    )
    following: so.WriteOnlyMapped["User"] = so.relationship(
        secondary=followers,
        primaryjoin=(followers.c.follower_id == id),
        secondaryjoin=(followers.c.followed_id == id),
        back_populates="followers",
        passive_deletes=True,
    )
    followers: so.WriteOnlyMapped["User"] = so.relationship(
        secondary=followers,
        primaryjoin=(followers.c.followed_id == id),
        secondaryjoin=(followers.c.follower_id == id),
        back_populates="following",
        passive_deletes=True,
    )

    # This request's session record (load_user sets them; None: signed in by
    # code without one, as tests and scripts may).
    session_key = session_id = session_seen = None

    def __repr__(self) -> str:
        return f"<User {self.username}>"

    @so.validates("email")
    def _keep_email_key(self, key: str, address: str) -> str:
        """Store the comparison form next to the address as typed."""
        self.email_key = normalize_email(address)
        return address.strip()

    @so.validates("previous_email")
    def _keep_previous_email_key(self, key: str, address: str | None) -> str | None:
        """The previous address stays reserved for its owner while undo lives."""
        self.previous_email_key = normalize_email(address) if address else None
        return address

    @property
    def is_active(self) -> bool:
        """Flask-Login refuses to log in deactivated accounts."""
        return bool(self.active)

    def get_id(self) -> str:
        """Sessions carry the account's rotating token and their own record's key.

        Not the primary key: a new password rotates the token and so ends every
        session; ending one record ends that browser's alone (app.models.sessions).
        """
        if self.session_token is None:
            self.session_token = new_session_token()
        key = getattr(self, "session_key", None)
        return f"{self.session_token}.{key}" if key else self.session_token

    def set_password(self, password: str) -> None:
        """Hash and store a new password, ending every existing session."""
        self.password_hash = password_hasher().hash(password)
        self.session_token = new_session_token()
        if self.id is not None:
            end_sessions(self.id)

    def rehash_password(self, password: str) -> None:
        """Re-hash a correct password at the current cost; sessions stay."""
        self.password_hash = password_hasher().hash(password)

    def check_password(self, password: str) -> bool:
        """Whether the password matches (argon2id, or an older Werkzeug hash)."""
        if not self.password_hash:
            return False
        if not self.password_hash.startswith("$argon2"):
            return check_password_hash(self.password_hash, password)
        try:
            return password_hasher().verify(self.password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def password_needs_rehash(self) -> bool:
        """Whether the stored hash is older or cheaper than the current setting."""
        if not self.password_hash or not self.password_hash.startswith("$argon2"):
            return True
        return password_hasher().check_needs_rehash(self.password_hash)

    def avatar(self, size: int) -> str:
        """The Gravatar identicon URL for this user."""
        return avatar_url(self.email, size)

    def follow(self, user: "User") -> None:
        """Start following user."""
        if not self.is_following(user):
            self.following.add(user)

    def unfollow(self, user: "User") -> None:
        """Stop following user."""
        if self.is_following(user):
            self.following.remove(user)

    def is_following(self, user: "User") -> bool:
        """Whether this user follows user."""
        query = self.following.select().where(User.id == user.id)
        return db.session.scalar(query) is not None

    def following_posts(self) -> sa.Select:
        """The posts of the users this one follows and its own, newest first.

        A statement to run (`db.session.scalars(user.following_posts())`), as the
        Mega-Tutorial has it: the home page's feed (FEED), bound to this reader.
        """
        return FEED.posts.params(reader_id=self.id).order_by(*NEWEST_FIRST)

    def followers_count(self) -> int:
        """How many users follow this one."""
        return db.session.scalar(FOLLOWERS_OF, {"profile_id": self.id})

    def following_count(self) -> int:
        """How many users this one follows."""
        return db.session.scalar(FOLLOWED_BY, {"profile_id": self.id})

    @staticmethod
    def by_email(address: str) -> Optional["User"]:
        """The account whose address this is, in any case or Unicode form."""
        key = normalize_email(address)
        return db.session.scalar(sa.select(User).where(User.email_key == key))

    @staticmethod
    def by_username(username: str) -> Optional["User"]:
        """The account with this username, in any case."""
        return db.session.scalar(sa.select(User).where(username_is(username)))

    @staticmethod
    def reserving(address: str) -> Optional["User"]:
        """The account that may still restore this address as its own (undo)."""
        key = normalize_email(address)
        since = utcnow() - undo_window()
        return db.session.scalar(
            sa.select(User).where(
                User.previous_email_key == key, User.email_changed_at > since
            )
        )

    @property
    def email_confirmed(self) -> bool:
        """Whether the address on file has been proven."""
        return self.email_confirmed_at is not None

    def confirm_email(self) -> None:
        """Record that the address on file was proven (once)."""
        if self.email_confirmed_at is None:
            self.email_confirmed_at = utcnow()

    def request_email_change(self, address: str) -> None:
        """Remember address as pending; any earlier pending change is replaced."""
        self.pending_email = address.strip()
        self.pending_email_since = utcnow()

    def cancel_email_change(self) -> None:
        """Forget the pending change; its link dies with it."""
        self.pending_email = self.pending_email_since = None

    def can_undo_email_change(self) -> bool:
        """Whether the previous address can still be restored (its link lives)."""
        changed = self.email_changed_at
        return bool(self.previous_email and changed) and (
            utcnow() - as_utc(changed) < undo_window()
        )

    def apply_email_change(self) -> str:
        """Make the pending address the address on file; return the replaced one.

        While an undo is possible, the address from before the first change stays
        the one to restore: a second change must not take the owner's way back.
        """
        replaced, new = self.email, self.pending_email
        if normalize_email(new) == self.previous_email_key:
            self.previous_email = self.email_changed_at = None  # back where it was
        elif not self.can_undo_email_change():
            self.previous_email, self.email_changed_at = replaced, utcnow()
        self.email = new
        self.email_confirmed_at = utcnow()
        self.cancel_email_change()
        return replaced

    def revert_email_change(self) -> None:
        """Restore the previous address, end every session, void the password.

        Whoever changed the address knew the password: the owner chooses a new
        one through the reset link mailed to the restored address.
        """
        self.email = self.previous_email
        self.email_confirmed_at = utcnow()
        self.previous_email = self.email_changed_at = None
        self.cancel_email_change()
        self.set_password(secrets.token_urlsafe(32))

    def token_state(self, purpose: str) -> str:
        """The account state a purpose's link is bound to: it dies when this moves."""
        if purpose == RESET_PURPOSE:
            parts = [self.password_hash, self.email_key]
        elif purpose == CONFIRM_PURPOSE:
            parts = [self.email_key, self.email_confirmed]
        elif purpose == CHANGE_PURPOSE:
            parts = [self.email_key, self.pending_email, self.pending_email_since]
        elif purpose == REVERT_PURPOSE:
            # Not the current address: later changes must not kill the way back.
            parts = [self.previous_email, self.email_changed_at]
        else:
            raise ValueError(f"no such link purpose: {purpose}")
        return json.dumps([*map(stamp, parts), self.active])

    def get_token(self, purpose: str, expires_in: int) -> str:
        """A link token for purpose that lives expires_in seconds at most."""
        return make_token(purpose, self.id, self.token_state(purpose), expires_in)

    @staticmethod
    def from_token(purpose: str, token: str) -> Optional["User"]:
        """The active user a valid, current token for purpose belongs to, else None."""
        return read_token(
            purpose, token, active_user, lambda user: user.token_state(purpose)
        )

    def get_reset_password_token(self, expires_in: int | None = None) -> str:
        """A signed, short-lived link token that dies once the password changes."""
        if expires_in is None:
            expires_in = current_app.config["RESET_TOKEN_EXPIRES"]
        return self.get_token(RESET_PURPOSE, expires_in)

    @staticmethod
    def verify_reset_password_token(token: str) -> Optional["User"]:
        """The user a valid, unused, unexpired reset token is for, else None."""
        return User.from_token(RESET_PURPOSE, token)


# A username is one name in any case (sign-in folds it): the database holds each
# folded name once, and this index serves the lookups (username_is).
sa.Index("ix_user_username_folded", sa.func.lower(User.username), unique=True)


def username_is(username: str) -> sa.ColumnElement[bool]:
    """The condition that a user's name is username in any case, folded as the
    index folds it (the database's lower() on both sides)."""
    return sa.func.lower(User.username) == sa.func.lower(username)


def active_user(user_id: int) -> Optional["User"]:
    """The user with this id, if the account is active."""
    user = db.session.get(User, user_id)
    return user if user is not None and user.active else None


def stamp(value) -> str:
    """A state value as text; instants in one form whatever the database returns."""
    if isinstance(value, datetime):
        return as_utc(value).isoformat()
    return "" if value is None else str(value)


# Every signed-in request runs this: built once, its SQL cache key is memoized.
USER_BY_SESSION = (
    sa.select(User, UserSession.id, UserSession.last_seen_at)
    .join(UserSession, UserSession.user_id == User.id)
    .where(
        User.session_token == sa.bindparam("token"),
        UserSession.key_digest == sa.bindparam("digest"),
        UserSession.ended_at.is_(None),
        UserSession.last_seen_at > sa.bindparam("since"),
        User.active,
    )
)


@login.user_loader
def load_user(session_id: str) -> User | None:
    """The user a session or remember-me cookie belongs to, while both are open.

    An id without a session key dates from before sessions were recorded: its
    browser signs in again.
    """
    token, _, key = session_id.partition(".")
    if not key:
        return None
    row = db.session.execute(
        USER_BY_SESSION,
        {"token": token, "digest": key_digest(key), "since": utcnow() - IDLE_LIMIT},
    ).first()
    if row is None:
        return None
    user, user.session_id, user.session_seen = row
    user.session_key = key
    return user


# A profile page's user, their follow counts and whether the viewer follows them.
PROFILE = sa.select(
    User.id,
    User.username,
    User.email,
    User.about_me,
    User.last_seen,
    sa.select(sa.func.count())
    .where(followers.c.followed_id == User.id)
    .scalar_subquery()
    .label("followers"),
    sa.select(sa.func.count())
    .where(followers.c.follower_id == User.id)
    .scalar_subquery()
    .label("following"),
    sa.exists()
    .where(
        followers.c.followed_id == User.id,
        followers.c.follower_id == sa.bindparam("viewer_id"),
    )
    .label("followed"),
).where(User.username == sa.bindparam("username"))
