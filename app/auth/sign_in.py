"""Signing a browser in, and recent sign-in ("sudo mode"): sensitive changes
need a sign-in this recent.

A sign-in with the password (and code), /reauthenticate, or a form that asks for
the current password each count (mark_recent). A browser that came back through
its remember-me cookie has not signed in recently.
"""

import time
from functools import wraps

import sqlalchemy as sa
from flask import current_app, g, redirect, request, session, url_for
from flask_login import current_user, login_user
from werkzeug.datastructures import MultiDict

from app import db
from app.auth.email import send_new_device_email
from app.i18n import remember_locale, supported
from app.models import UserSession
from app.models.sessions import device_known
from app.request_helpers import client_ip, device

SIGNED_IN_AT = "_signed_in_at"
RESUME = "_resume"
# Never kept in the session across a reauthentication, even signed.
SECRET_FIELDS = {"csrf_token", "password", "password2", "current_password", "code"}


def sign_in(user, remember: bool = False, method: str = "password") -> bool:
    """Sign user in in this browser, as a recent sign-in; False if refused.

    Each sign-in is a session record (app.models.sessions); one from a device
    the account never used mails its owner (never the first after sign-up).
    """
    if not user.is_active:
        return False
    browser = device()
    known = device_known(user.id, browser)
    try:
        user.session_key, record = UserSession.start(
            user.id, browser, client_ip(), method
        )
        user.session_id, user.session_seen = record.id, record.last_seen_at
        if known is False:
            send_new_device_email(user, browser)
        db.session.commit()
    except sa.exc.IntegrityError:
        db.session.rollback()  # the account was deleted a moment ago
        return False
    login_user(user, remember=remember)
    mark_recent()
    return True


def finish_sign_in(user, remember: bool, next_url: str | None, method="password"):
    """Sign user in (password, and code if asked) and go where they were headed."""
    if not sign_in(user, remember, method):
        return None
    response = redirect(next_url or url_for("main.index"))
    # Kept in a cookie too, so pages stay in it while the database is away.
    return remember_locale(response, supported(user.locale))


def mark_recent() -> None:
    """Record that this browser proved who it is just now."""
    session[SIGNED_IN_AT] = int(time.time())


def signed_in_recently() -> bool:
    """Whether this browser's sign-in is within REAUTHENTICATE_AFTER seconds."""
    at = session.get(SIGNED_IN_AT)
    limit = current_app.config["REAUTHENTICATE_AFTER"]
    return isinstance(at, int) and 0 <= time.time() - at <= limit


def recent_sign_in_required(view):
    """Send a browser whose sign-in is not recent to /reauthenticate, then back.

    A form posted too late keeps its input (all but secrets) for the page it
    returns to: g.resumed holds it, and app.forms.Form fills itself from it.
    """

    @wraps(view)
    def check(*args, **kwargs):
        if not current_user.is_authenticated:
            return current_app.login_manager.unauthorized()
        if signed_in_recently():
            resumed = session.get(RESUME)
            if request.method == "GET" and resumed and resumed["path"] == request.path:
                session.pop(RESUME)
                g.resumed = MultiDict(resumed["form"])
            return view(*args, **kwargs)
        if request.method == "POST":
            kept = {
                name: value
                for name, value in request.form.items()
                if name not in SECRET_FIELDS
            }
            session[RESUME] = {"path": request.path, "form": kept}
        return redirect(url_for("auth.reauthenticate", next=request.path))

    return check
