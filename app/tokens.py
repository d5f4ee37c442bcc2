"""Signed links for mail: one purpose each, short-lived, bound to the account's state.

Every emailed link (reset, confirm, change, revert) is a JWT (HS256) with a key
derived for its purpose alone, so no token passes as another. Its `fp` claim is an
HMAC of the account state the link must not outlive (the password hash for a
reset, the address for a confirmation, the pending address for a change...): once
that state moves on, the link is dead, which makes every link single-use without
storing anything.
"""

import base64
import hmac
from collections.abc import Callable, Iterator
from time import time
from typing import TypeVar

import jwt
from flask import current_app

MAX_TOKEN_LENGTH = 1024
LEEWAY_SECONDS = 10
Subject = TypeVar("Subject")


def purpose_keys(purpose: str) -> Iterator[bytes]:
    """Keys for purpose, current first, then one per SECRET_KEY_FALLBACKS entry."""
    config = current_app.config
    label = f"microblog.{purpose}".encode()
    for secret in [config["SECRET_KEY"], *config.get("SECRET_KEY_FALLBACKS", [])]:
        yield hmac.new(secret.encode(), label, "sha256").digest()


def fingerprint(key: bytes, state: str) -> str:
    """A short keyed digest of state."""
    digest = hmac.new(key, state.encode(), "sha256").digest()[:16]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def make_token(purpose: str, subject: int, state: str, expires_in: int) -> str:
    """A link token for subject (a user id), valid while state stays the same."""
    key = next(purpose_keys(purpose))
    now = int(time())
    claims = {
        "sub": str(subject),
        "aud": f"microblog:{purpose}",
        "iat": now,
        "exp": now + expires_in,
        "fp": fingerprint(key, state),
    }
    return jwt.encode(claims, key, algorithm="HS256")


def read_token(
    purpose: str,
    token: str,
    load: Callable[[int], Subject | None],
    state: Callable[[Subject], str],
) -> Subject | None:
    """What a valid, unexpired, still-current token points to, else None.

    load turns the subject id into the object (or None); state gives the string
    that was fingerprinted when the token was made.
    """
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        return None
    for key in purpose_keys(purpose):
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=["HS256"],
                audience=f"microblog:{purpose}",
                options={"require": ["exp", "iat", "sub", "aud", "fp"]},
                leeway=LEEWAY_SECONDS,
            )
        except jwt.InvalidSignatureError:
            continue
        except jwt.InvalidTokenError:
            return None
        subject = str(claims["sub"])
        found = load(int(subject)) if subject.isdigit() else None
        if found is None:
            return None
        if hmac.compare_digest(str(claims["fp"]), fingerprint(key, state(found))):
            return found
        return None
    return None
