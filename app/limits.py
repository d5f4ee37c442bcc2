"""Rate-limit keys, and the per-address limit on mail nobody asked for."""

import hashlib
import hmac

from flask import current_app, request
from limits import parse

from app import limiter
from app.models import normalize_email


def address_digest(address: str) -> str:
    """A keyed digest that lets logs correlate an address without storing it."""
    key = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(key, normalize_email(address).encode(), hashlib.sha256)
    return digest.hexdigest()[:16]


def reset_address_key() -> str:
    """Rate-limit key: the normalised submitted address, registered or not."""
    return "reset-address:" + address_digest(request.form.get("email", ""))


def mail_allowed_to(address: str) -> bool:
    """Whether one more unasked-for notice may go to address.

    Anyone can trigger these (a sign-up with a taken address, a move to one), so
    each address gets at most RESET_REQUESTS_PER_ADDRESS of them.
    """
    if not current_app.config["RATELIMIT_ENABLED"]:
        return True
    limit = parse(current_app.config["RESET_REQUESTS_PER_ADDRESS"])
    try:
        return limiter.limiter.hit(limit, "notice-address", address_digest(address))
    except Exception:  # noqa: BLE001 - a storage outage must not block sign-up
        return True


def login_name_key() -> str:
    """Rate-limit key for failed logins: the username being guessed."""
    return "login-name:" + request.form.get("username", "").strip().lower()[:64]


def failed_login(response) -> bool:
    """A login counts against the limit only when it fails (no redirect)."""
    return response.status_code == 200
