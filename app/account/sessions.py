"""Where you are signed in: the sessions page, and signing sessions out."""

import logging

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app import db
from app.account.routes import bp
from app.auth.email import device_words
from app.forms import EmptyForm
from app.models import UserSession
from app.models.sessions import end_session, end_sessions, sessions_of
from app.request_helpers import client_ip

audit = logging.getLogger("app.audit")
# How a session signed in, as the page says it (app.models.sessions.METHODS).
METHOD_WORDS = {
    "password": _l("with the password"),
    "code": _l("with the password and a code"),
    "recovery code": _l("with the password and a recovery code"),
    "passkey": _l("with a passkey"),
}


@bp.get("/sessions")
@login_required
def sessions():
    """Every session of the account, newest first, this device marked."""
    return render_template(
        "account/sessions.html",
        title=_("Where you're signed in"),
        sessions=sessions_of(current_user.id),
        this_session=current_user.session_id,
        device_words=device_words,
        method_words=METHOD_WORDS,
        form=EmptyForm(),
    )


@bp.post("/sessions/<int:session_id>/sign_out")
@login_required
def sign_out_session(session_id):
    """End one session; its browser is signed out at its next request."""
    record = db.session.get(UserSession, session_id)
    if record is None or record.user_id != current_user.id:
        abort(404)
    if EmptyForm().validate_on_submit():
        end_session(record.id)
        db.session.commit()
        audit.info(
            "session_ended user_id=%s session_id=%s ip=%s",
            current_user.id,
            record.id,
            client_ip(),
        )
        if record.id == current_user.session_id:
            flash(_("You have been signed out."), "info")
            return redirect(url_for("auth.login"))
        flash(_("That session was signed out."), "success")
    return redirect(url_for("account.sessions"))


@bp.post("/sessions/sign_out_others")
@login_required
def sign_out_other_sessions():
    """End every session of the account but this browser's."""
    if EmptyForm().validate_on_submit():
        ended = end_sessions(current_user.id, keep=current_user.session_id)
        db.session.commit()
        audit.info("sessions_ended user_id=%s count=%s", current_user.id, ended)
        flash(_("Every other session was signed out."), "success")
    return redirect(url_for("account.sessions"))
