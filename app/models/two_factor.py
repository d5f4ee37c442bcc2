"""The second factor: an authenticator app's codes (TOTP, RFC 6238), recovery
codes, and the half-done sign-in that waits for one of them."""

import hashlib
import hmac
import secrets
import time
from datetime import datetime, timedelta

import pyotp
import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app

from app import db
from app.encryption import decrypt, encrypt
from app.models.clock import Timestamp, utcnow

KEY_PURPOSE = "totp-key"
ISSUER = "Microblog"
STEP_SECONDS = 30
# Letters and digits nobody mixes up when reading aloud or typing: no 0/o, 1/l/i.
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
RECOVERY_CODE_LENGTH = 12  # about 59 bits, in three groups of four
RECOVERY_CODE_COUNT = 10
# PBKDF2 rounds for a recovery code's digest: NIST 800-63B asks look-up secrets
# of under 112 bits to be stored through a salted key derivation function.
RECOVERY_ROUNDS = 20_000


def new_totp_key() -> str:
    """A fresh random authenticator key (160 bits, base32)."""
    return pyotp.random_base32(32)


def provisioning_uri(key: str, username: str) -> str:
    """The otpauth:// address phones open in their authenticator app."""
    return pyotp.TOTP(key).provisioning_uri(name=username, issuer_name=ISSUER)


def grouped(key: str) -> str:
    """The key in groups of four, for typing by hand."""
    return " ".join(key[start : start + 4] for start in range(0, len(key), 4))


def code_text(typed: str) -> str:
    """A typed code without the spaces and dashes people put in, lower case."""
    return "".join(char for char in typed if char not in " -\t").lower()


def is_totp_code(text: str) -> bool:
    """Whether text (as code_text leaves it) is six digits."""
    return len(text) == 6 and text.isascii() and text.isdigit()


def now() -> float:
    """The time codes are checked against (tests set it)."""
    return time.time()


def matching_step(
    key: str, code: str, after: int | None = None, at: float | None = None
) -> int | None:
    """The time step code is right for, one step of clock drift either way.

    Steps at or before after were used already and never match again (NIST
    800-63B: an OTP is accepted once).
    """
    if not is_totp_code(code):
        return None
    totp = pyotp.TOTP(key)
    current = current_step(at)
    for step in (current - 1, current, current + 1):
        if after is not None and step <= after:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def current_step(at: float | None = None) -> int:
    """The time step of now (or of at)."""
    return int((now() if at is None else at) // STEP_SECONDS)


def new_recovery_code() -> str:
    """A random recovery code, as shown: three groups of four."""
    code = "".join(
        secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH)
    )
    return "-".join(code[start : start + 4] for start in range(0, len(code), 4))


def recovery_digest(user_id: int, code: str) -> str:
    """What is stored of a recovery code: salted per account, slow to guess."""
    salt = f"microblog:recovery:{user_id}".encode()
    digest = hashlib.pbkdf2_hmac("sha256", code.encode(), salt, RECOVERY_ROUNDS)
    return digest.hex()


class RecoveryCode(db.Model):
    """One single-use recovery code of an account, stored as a digest."""

    __tablename__ = "recovery_code"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="CASCADE"), index=True
    )
    digest: so.Mapped[str] = so.mapped_column(sa.String(64))
    used_at: so.Mapped[datetime | None] = so.mapped_column(Timestamp())


class PendingSignIn(db.Model):
    """A right password for an account with a second factor, waiting for a code.

    Kept on the server, so sending an old session cookie again cannot reset its
    count of wrong codes. The browser holds a random token; only its digest is
    stored.
    """

    __tablename__ = "pending_sign_in"

    id: so.Mapped[str] = so.mapped_column(sa.String(64), primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="CASCADE"), index=True
    )
    remember: so.Mapped[bool] = so.mapped_column(default=False)
    next_url: so.Mapped[str | None] = so.mapped_column(sa.String(2048))
    started_at: so.Mapped[datetime] = so.mapped_column(Timestamp(), default=utcnow)
    failures: so.Mapped[int] = so.mapped_column(default=0)

    @staticmethod
    def digest(token: str) -> str:
        """The stored form of the browser's token."""
        return hashlib.sha256(token.encode()).hexdigest()

    @staticmethod
    def start(user_id: int, remember: bool, next_url: str | None) -> str:
        """Record a half-done sign-in; return the token the browser keeps.

        Those nobody finished are removed here, so the table stays small.
        """
        lifetime = timedelta(seconds=current_app.config["TWO_FACTOR_SIGN_IN_SECONDS"])
        db.session.execute(
            sa.delete(PendingSignIn).where(
                PendingSignIn.started_at < utcnow() - lifetime
            )
        )
        token = secrets.token_urlsafe(32)
        db.session.add(
            PendingSignIn(
                id=PendingSignIn.digest(token),
                user_id=user_id,
                remember=remember,
                next_url=next_url,
            )
        )
        return token

    @staticmethod
    def find(token: str | None) -> "PendingSignIn | None":
        """The live half-done sign-in a token names; an expired one is removed."""
        if not token:
            return None
        pending = db.session.get(PendingSignIn, PendingSignIn.digest(token))
        if pending is None:
            return None
        age = (utcnow() - pending.started_at).total_seconds()
        if not 0 <= age <= current_app.config["TWO_FACTOR_SIGN_IN_SECONDS"]:
            db.session.delete(pending)
            return None
        return pending


class SecondFactor:
    """The second factor of a User (its columns live on User)."""

    totp_key: str | None
    totp_last_step: int | None
    two_factor_since: datetime | None
    code_failures: int
    code_failures_since: datetime | None
    id: int

    @property
    def two_factor_enabled(self) -> bool:
        """Whether signing in asks for a code after the password."""
        return self.totp_key is not None

    def authenticator_key(self) -> str:
        """The plain TOTP key; one made under an old SECRET_KEY is re-encrypted."""
        key, stale = decrypt(self.totp_key, KEY_PURPOSE)
        if stale:
            self.totp_key = encrypt(key, KEY_PURPOSE)
        return key

    def enable_two_factor(self, key: str, step: int) -> list[str]:
        """Turn the second factor on with key, whose code for step was just typed.

        Returns the new recovery codes, the only time they exist in plain text.
        """
        self.totp_key = encrypt(key, KEY_PURPOSE)
        self.totp_last_step = step
        self.two_factor_since = utcnow()
        return self.new_recovery_codes()

    def disable_two_factor(self) -> None:
        """Turn the second factor off and void its recovery codes."""
        self.totp_key = self.totp_last_step = self.two_factor_since = None
        db.session.execute(
            sa.delete(RecoveryCode).where(RecoveryCode.user_id == self.id)
        )

    def check_totp(self, code: str, at: float | None = None) -> bool:
        """Accept code if it is a current authenticator code not accepted before.

        One conditional UPDATE records its step, so two requests racing with
        the same code can never both be accepted.
        """
        step = matching_step(
            self.authenticator_key(), code, after=self.totp_last_step, at=at
        )
        if step is None:
            return False
        user = type(self)
        accepted = db.session.execute(
            sa.update(user)
            .where(
                user.id == self.id,
                sa.or_(user.totp_last_step.is_(None), user.totp_last_step < step),
            )
            .values(totp_last_step=step)
            .execution_options(synchronize_session=False)
        )
        if accepted.rowcount != 1:
            return False
        self.totp_last_step = step
        return True

    def code_was_used(self, code: str, at: float | None = None) -> bool:
        """Whether code is right but its time step was accepted already."""
        step = matching_step(self.authenticator_key(), code, at=at)
        return (
            step is not None
            and self.totp_last_step is not None
            and (step <= self.totp_last_step)
        )

    def new_recovery_codes(self) -> list[str]:
        """Replace every recovery code with RECOVERY_CODE_COUNT new ones."""
        db.session.execute(
            sa.delete(RecoveryCode).where(RecoveryCode.user_id == self.id)
        )
        codes = [new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
        db.session.add_all(
            RecoveryCode(
                user_id=self.id, digest=recovery_digest(self.id, code_text(code))
            )
            for code in codes
        )
        return codes

    def use_recovery_code(self, code: str) -> bool:
        """Spend one unused recovery code; False when code is none of them."""
        if not code or len(code) > 64:
            return False
        # One UPDATE claims it, so two requests can never both spend it.
        spent = db.session.execute(
            sa.update(RecoveryCode)
            .where(
                RecoveryCode.user_id == self.id,
                RecoveryCode.digest == recovery_digest(self.id, code),
                RecoveryCode.used_at.is_(None),
            )
            .values(used_at=utcnow())
        )
        return spent.rowcount == 1

    def count_code_failure(self) -> int:
        """Count one wrong code against the account's hourly allowance.

        Returns the wrong codes so far this window. One UPDATE in the database,
        so every worker and host shares the count, whatever happens to Redis.
        """
        user = type(self)
        since = utcnow() - timedelta(hours=1)
        new_window = sa.or_(
            user.code_failures_since.is_(None), user.code_failures_since < since
        )
        return db.session.execute(
            sa.update(user)
            .where(user.id == self.id)
            .values(
                code_failures=sa.case((new_window, 1), else_=user.code_failures + 1),
                code_failures_since=sa.case(
                    (new_window, utcnow()), else_=user.code_failures_since
                ),
            )
            .returning(user.code_failures)
            .execution_options(synchronize_session=False)
        ).scalar_one()

    def codes_locked(self) -> bool:
        """Whether this hour's wrong codes reached TWO_FACTOR_FAILURES_PER_HOUR."""
        limit = current_app.config["TWO_FACTOR_FAILURES_PER_HOUR"]
        since = self.code_failures_since
        return (
            since is not None
            and utcnow() - since < timedelta(hours=1)
            and self.code_failures >= limit
        )

    def recovery_codes_left(self) -> int:
        """How many recovery codes are still unused."""
        return db.session.scalar(
            sa.select(sa.func.count()).where(
                RecoveryCode.user_id == self.id, RecoveryCode.used_at.is_(None)
            )
        )
