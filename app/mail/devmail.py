"""`/dev/mail`: in debug mode without a mail server, read sent mail in the browser.

Like Phoenix's /dev/mailbox or Rails' letter_opener: the newcomer's whole story
(sign up, confirm, reset) can be lived in the browser. Registered by create_app
only in debug mode with no MAIL_SERVER, so it never exists in production.
"""

import re
from collections import deque

from flask import Blueprint, Flask, abort, current_app, render_template, request
from flask_babel import gettext as _
from flask_mail import Message

from app.models import utcnow

bp = Blueprint("devmail", __name__, url_prefix="/dev/mail")
KEPT = 50


def init_app(app: Flask) -> None:
    """Keep the last messages this process sent, and serve them."""
    app.extensions["dev_mail"] = deque(maxlen=KEPT)
    app.register_blueprint(bp)


def keep(message: Message) -> None:
    """Remember a sent message, when this app keeps them."""
    kept = current_app.extensions.get("dev_mail")
    if kept is not None:
        kept.appendleft((utcnow(), message))


def kept_message(number: int) -> tuple:
    """The number-th newest message, or a 404."""
    kept = current_app.extensions["dev_mail"]
    if not 0 <= number < len(kept):
        abort(404)
    return kept[number]


@bp.before_request
def only_from_this_machine():
    """A debug server bound to 0.0.0.0 must not hand reset links to the network."""
    if request.remote_addr not in ("127.0.0.1", "::1"):
        abort(404)


@bp.get("")
def mailbox():
    """The kept messages, newest first."""
    messages = list(current_app.extensions["dev_mail"])
    return render_template("devmail/mailbox.html", title=_("Mail"), messages=messages)


@bp.get("/<int:number>")
def message(number: int):
    """One message: headers, the text part, and the HTML part in a frame."""
    sent_at, kept = kept_message(number)
    return render_template(
        "devmail/message.html",
        title=kept.subject,
        number=number,
        sent_at=sent_at,
        message=kept,
    )


@bp.get("/<int:number>/html")
def message_html(number: int):
    """The HTML part as its own page, so its links work as in a mail reader."""
    _, kept = kept_message(number)
    if not kept.html:
        abort(404)
    # The mail's own inline styles need this; it is shown framed by our own page.
    policy = "default-src 'none'; style-src 'unsafe-inline'; img-src *"
    headers = {"Content-Security-Policy": policy, "X-Frame-Options": "SAMEORIGIN"}
    return open_links_outside(kept.html), 200, headers


def open_links_outside(page: str) -> str:
    """Links in the framed mail open in the whole window, as from a mail reader."""
    base = '<base target="_top">'
    if "<head>" in page:
        return page.replace("<head>", "<head>" + base, 1)
    return re.sub(r"(<html[^>]*>)", rf"\1<head>{base}</head>", page, count=1)
