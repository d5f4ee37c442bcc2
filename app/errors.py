"""Error pages a person can read."""

from flask import Blueprint, render_template
from flask.globals import request_ctx
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from app import db

bp = Blueprint("errors", __name__)

EXPLANATIONS = {
    400: "The request could not be understood. Go back, reload the page and try again.",
    403: "You are not allowed to do that.",
    404: "There is nothing at this address.",
    405: "That page can't be used like that.",
    413: "That was more data than this site accepts in one go.",
    429: "Too many attempts. Please wait a while, then try again.",
    500: "Something went wrong on our side. It has been reported; please try again.",
}


@bp.app_errorhandler(CSRFError)
def form_expired(error):
    """A stale or missing CSRF token: ask the person to reload the form."""
    message = "The form expired or was sent from elsewhere. Reload it and try again."
    return render_error(400, "Bad request", message)


@bp.app_errorhandler(HTTPException)
def http_error(error):
    """Known HTTP errors get our page, keeping headers such as a 405's Allow."""
    explanation = EXPLANATIONS.get(error.code, error.description)
    headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
    return render_error(error.code, error.name, explanation, headers)


@bp.app_errorhandler(500)
def internal_error(error):
    """An unexpected failure: undo the half-done transaction first."""
    db.session.rollback()
    return render_error(500, "Internal server error", EXPLANATIONS[500])


def render_error(code: int, title: str, explanation: str, headers=()):
    """The error page with its status code."""
    if request_ctx.url_adapter is None:
        # The Host header was refused, so no link can be built: answer plainly.
        text = f"{code} {title}: {explanation}\n"
        return text, code, [*headers, ("Content-Type", "text/plain; charset=utf-8")]
    page = render_template(
        "errors/error.html", code=code, title=title, explanation=explanation
    )
    return page, code, list(headers)
