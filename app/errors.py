"""Error pages a person can read."""

import contextlib

import sqlalchemy as sa
from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.globals import request_ctx
from flask_babel import lazy_gettext as _l
from flask_login import current_user, logout_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from app import db, login
from app.database import RETRY_AFTER_SECONDS, UNAVAILABLE
from app.health import NOT_MIGRATED, database_trouble
from app.models import User

bp = Blueprint("errors", __name__)

# Lazy: translated when a page is rendered, in its reader's language.
TITLES = {
    400: _l("Bad request"),
    403: _l("Forbidden"),
    404: _l("Not Found"),
    405: _l("Method Not Allowed"),
    413: _l("Too much data"),
    429: _l("Too many requests"),
    500: _l("Internal server error"),
    503: _l("Service unavailable"),
}
EXPLANATIONS = {
    400: _l(
        "The request could not be understood. Go back, reload the page and try again."
    ),
    403: _l("You are not allowed to do that."),
    404: _l("There is nothing at this address."),
    405: _l("That page can't be used like that."),
    413: _l("That was more data than this site accepts in one go."),
    429: _l("Too many attempts. Please wait a while, then try again."),
    500: _l(
        "Something went wrong on our side. It has been reported; please try again."
    ),
    503: _l(
        "The site can't reach its database just now, so nothing you sent was saved. "
        "Please try again in a minute."
    ),
}
BEING_UPDATED = _l("The site is being updated. Please try again in a few minutes.")
# Any other status: a plain, translated answer rather than Werkzeug's English.
UNLISTED_TITLE = _l("Request failed")
UNLISTED = _l("This request could not be completed. Go back and try again.")
PLAIN_HTTP = _l(
    "This site sends its session cookie over HTTPS only, but this form came over "
    "plain HTTP, so the browser never sent the cookie back. Open the site with "
    "https://, or, if it is really served over plain HTTP, set "
    "PREFERRED_URL_SCHEME=http (or SESSION_COOKIE_SECURE=false)."
)
PLAIN_HTTP_LOG = (
    "the session cookie is sent over HTTPS only, but the form came over plain HTTP "
    "without it: serve HTTPS, or set PREFERRED_URL_SCHEME=http"
)
FORM_EXPIRED = _l(
    "The form expired or was sent from elsewhere. Reload it and try again."
)


@bp.app_errorhandler(CSRFError)
def form_expired(error):
    """A stale or missing CSRF token: ask the person to reload the form."""
    config = current_app.config
    cookie_name = config["SESSION_COOKIE_NAME"]
    if (
        config["SESSION_COOKIE_SECURE"]
        and not request.is_secure
        and cookie_name not in request.cookies
    ):
        current_app.logger.warning(
            "CSRF failed on %s %s: %s", request.method, request.path, PLAIN_HTTP_LOG
        )
        return render_error(400, PLAIN_HTTP)
    return render_error(400, FORM_EXPIRED)


def database_unavailable(error):
    """The database is down, locked or not migrated: a 503 page needing no database."""
    # The connection may be gone already; the session is discarded either way.
    with contextlib.suppress(sa.exc.SQLAlchemyError):
        db.session.rollback()
    trouble = database_trouble(error)
    if trouble is None:
        raise error  # a mistake in a query: the 500 page, with its traceback
    # One line, not a traceback per request: an outage is an event, not a bug.
    what, line = trouble
    current_app.logger.warning(
        "%s on %s %s: %s", what, request.method, request.path, line
    )
    g.database_unavailable = True
    # Flask-Login's template context loads the user; this request has none to load.
    g._login_user = login.anonymous_user()
    headers = [("Retry-After", str(RETRY_AFTER_SECONDS))]
    explanation = BEING_UPDATED if what == NOT_MIGRATED else EXPLANATIONS[503]
    return render_error(503, explanation, headers)


# ProgrammingError: PostgreSQL's missing table or column (anything else re-raised).
for unavailable in (*UNAVAILABLE, sa.exc.ProgrammingError):
    bp.app_errorhandler(unavailable)(database_unavailable)


@bp.app_errorhandler(HTTPException)
def http_error(error):
    """Known HTTP errors get our page, keeping headers such as a 405's Allow."""
    if error.response is not None:
        # A response chosen for this error (a rate limit's "same answer") stands.
        return error.response
    explanation = EXPLANATIONS.get(error.code, UNLISTED)
    headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
    return render_error(error.code, explanation, headers)


@bp.app_errorhandler(500)
def internal_error(error):
    """An unexpected failure: undo the half-done transaction first."""
    db.session.rollback()
    return render_error(500, EXPLANATIONS[500])


def render_error(code: int, explanation, headers=()):
    """The error page with its status code, in the reader's language."""
    title, explanation = str(TITLES.get(code, UNLISTED_TITLE)), str(explanation)
    if request_ctx.url_adapter is None:
        # The Host header was refused, so no link can be built: answer plainly.
        text = f"{code} {title}: {explanation}\n"
        return text, code, [*headers, ("Content-Type", "text/plain; charset=utf-8")]
    page = render_template(
        "errors/error.html", code=code, title=title, explanation=explanation
    )
    return page, code, list(headers)


ACCOUNT_GONE = _l("That account no longer exists. Nothing you sent was saved.")


@bp.app_errorhandler(sa.exc.IntegrityError)
@bp.app_errorhandler(sa.orm.exc.StaleDataError)
def account_deleted_meanwhile(error):
    """A write that lost a race with its own account's deletion: signed out.

    The database's foreign keys refused it, so nothing was left behind; any
    other integrity error is a bug and answers 500.
    """
    db.session.rollback()
    # The identity, not the expired attribute, which would reload the row.
    user = current_user._get_current_object()
    identity = sa.inspect(user).identity if isinstance(user, User) else None
    if identity is None or db.session.get(User, identity[0]) is not None:
        raise error
    logout_user()
    flash(str(ACCOUNT_GONE), "warning")
    return redirect(url_for("auth.login"))
