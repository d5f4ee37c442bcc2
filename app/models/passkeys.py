"""Passkeys (WebAuthn): an account's credentials, and the single-use challenges
their ceremonies answer."""

import hashlib
import ipaddress
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app

from app import db
from app.models.clock import Timestamp, utcnow

CHALLENGE_SECONDS = 5 * 60


def relying_party() -> tuple[str, str]:
    """(RP ID, origin), from SERVER_NAME and PREFERRED_URL_SCHEME, never the Host.

    Passkeys are bound to the RP ID: changing SERVER_NAME's host voids them all.
    """
    config = current_app.config
    server = config["SERVER_NAME"]
    return server.split(":")[0], f"{config['PREFERRED_URL_SCHEME']}://{server}"


def passkeys_possible() -> bool:
    """Whether browsers will make passkeys for this site: never on an IP address."""
    try:
        ipaddress.ip_address(relying_party()[0])
    except ValueError:
        return True
    return False


class Passkey(db.Model):
    """One passkey of an account: its credential and public key."""

    __tablename__ = "passkey"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="CASCADE"), index=True
    )
    # base64url, unique across every account.
    credential_id: so.Mapped[str] = so.mapped_column(sa.String(1400), unique=True)
    public_key: so.Mapped[bytes] = so.mapped_column(sa.LargeBinary)
    sign_count: so.Mapped[int] = so.mapped_column(sa.BigInteger, default=0)
    name: so.Mapped[str] = so.mapped_column(sa.String(64))
    created_at: so.Mapped[datetime] = so.mapped_column(Timestamp(), default=utcnow)
    last_used_at: so.Mapped[datetime | None] = so.mapped_column(Timestamp())

    @staticmethod
    def by_credential(credential_id: str) -> "Passkey | None":
        """The passkey with this credential id, whoever's it is."""
        return db.session.scalar(
            sa.select(Passkey).where(Passkey.credential_id == credential_id)
        )


def passkeys_of(user_id: int) -> list[Passkey]:
    """An account's passkeys, oldest first."""
    return db.session.scalars(
        sa.select(Passkey).where(Passkey.user_id == user_id).order_by(Passkey.id)
    ).all()


def user_handle(user) -> bytes:
    """The random id passkeys know the account by (never its database id)."""
    if user.passkey_handle is None:
        user.passkey_handle = secrets.token_urlsafe(32)
    return user.passkey_handle.encode()


class PasskeyChallenge(db.Model):
    """A challenge handed to one browser, answered at most once within 5 minutes.

    The browser's session holds the challenge; only its digest is stored.
    """

    __tablename__ = "passkey_challenge"

    id: so.Mapped[str] = so.mapped_column(sa.String(64), primary_key=True)
    purpose: so.Mapped[str] = so.mapped_column(sa.String(16))
    user_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="CASCADE")
    )
    created_at: so.Mapped[datetime] = so.mapped_column(Timestamp(), default=utcnow)

    @staticmethod
    def digest(challenge: bytes) -> str:
        """The stored form of a challenge."""
        return hashlib.sha256(challenge).hexdigest()

    @staticmethod
    def issue(purpose: str, user_id: int | None = None) -> bytes:
        """A fresh challenge for purpose; stale ones nobody answered are removed."""
        cutoff = utcnow() - timedelta(seconds=CHALLENGE_SECONDS)
        db.session.execute(
            sa.delete(PasskeyChallenge).where(PasskeyChallenge.created_at < cutoff)
        )
        challenge = secrets.token_bytes(32)
        db.session.add(
            PasskeyChallenge(
                id=PasskeyChallenge.digest(challenge), purpose=purpose, user_id=user_id
            )
        )
        return challenge

    @staticmethod
    def spend(challenge: bytes | None, purpose: str, user_id: int | None = None):
        """Use up challenge: True once, if it is live, for purpose (and user)."""
        if not challenge:
            return False
        cutoff = utcnow() - timedelta(seconds=CHALLENGE_SECONDS)
        spent = db.session.execute(
            sa.delete(PasskeyChallenge).where(
                PasskeyChallenge.id == PasskeyChallenge.digest(challenge),
                PasskeyChallenge.purpose == purpose,
                PasskeyChallenge.user_id.is_(None)
                if user_id is None
                else PasskeyChallenge.user_id == user_id,
                PasskeyChallenge.created_at >= cutoff,
            )
        )
        return spent.rowcount == 1
