"""Secrets kept at rest (the authenticator keys), encrypted with keys derived
from SECRET_KEY, so a copy of the database alone reveals none of them."""

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

__all__ = ["InvalidToken", "decrypt", "encrypt"]


def fernet(secret: str, purpose: str) -> Fernet:
    """The Fernet key HKDF derives from secret for purpose (one key per purpose)."""
    kdf = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=None,
        info=f"microblog:{purpose}".encode(),
    )
    return Fernet(base64.urlsafe_b64encode(kdf.derive(secret.encode())))


def keys(purpose: str) -> list[Fernet]:
    """The current key first, then those of SECRET_KEY_FALLBACKS (rotation)."""
    config = current_app.config
    secrets = [config["SECRET_KEY"], *config.get("SECRET_KEY_FALLBACKS", ())]
    return [fernet(secret, purpose) for secret in secrets]


def encrypt(plain: str, purpose: str) -> str:
    """plain encrypted (and authenticated) under the current SECRET_KEY."""
    return keys(purpose)[0].encrypt(plain.encode()).decode()


def decrypt(token: str, purpose: str) -> tuple[str, bool]:
    """The plain text, and whether it was made under an old secret (re-encrypt it).

    Raises InvalidToken when no current or fallback secret opens it.
    """
    for age, key in enumerate(keys(purpose)):
        try:
            return key.decrypt(token.encode()).decode(), age > 0
        except InvalidToken:
            continue
    raise InvalidToken
