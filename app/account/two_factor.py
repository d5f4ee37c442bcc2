"""Turning the second factor on and off, and the recovery codes."""

import json
import logging
from urllib.parse import quote

import segno
from flask import flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app import db, limiter
from app.account.forms import DisableTwoFactorForm, EnableTwoFactorForm
from app.account.routes import bp
from app.auth.email import send_security_notice
from app.auth.sign_in import mark_recent, recent_sign_in_required
from app.auth.two_factor import code_problem, wrong_code
from app.encryption import InvalidToken, decrypt, encrypt
from app.forms import EmptyForm
from app.models.two_factor import (
    code_text,
    grouped,
    matching_step,
    new_totp_key,
    provisioning_uri,
)
from app.request_helpers import browser_name, client_ip

audit = logging.getLogger("app.audit")
# Kept in the session, encrypted: the key being set up, and new recovery codes
# until the page that shows them once.
SETUP_KEY = "_two_factor_setup"
NEW_CODES = "_new_recovery_codes"
SESSION_PURPOSE = "two-factor-session"


def from_session(name: str):
    """A value this module keeps in the session, or None."""
    try:
        return json.loads(decrypt(session[name], SESSION_PURPOSE)[0])
    except (KeyError, InvalidToken, TypeError, ValueError):
        return None


def to_session(name: str, value) -> None:
    """Keep value in the session, encrypted (the cookie is only signed)."""
    session[name] = encrypt(json.dumps(value), SESSION_PURPOSE)


@bp.route("/two_factor/setup", methods=["GET", "POST"])
@login_required
@recent_sign_in_required
@limiter.limit("30/hour", methods=["POST"])
def two_factor_setup():
    """Show a fresh key as a QR code and text; its first right code turns it on."""
    user = current_user._get_current_object()
    if user.two_factor_enabled:
        flash(_("Two-factor sign-in is already on."), "info")
        return redirect(url_for("account.settings"))
    if not user.email_confirmed:
        # Else whoever signed up with someone's address could lock its owner out.
        flash(
            _("Confirm your email address first: the link is in your inbox."),
            "warning",
        )
        return redirect(url_for("account.settings"))
    key = from_session(SETUP_KEY)
    if key is None or (request.method == "GET" and g.get("resumed") is None):
        key = new_totp_key()  # a fresh key each time setup starts
        to_session(SETUP_KEY, key)
    form = EnableTwoFactorForm()
    if form.validate_on_submit():
        step = matching_step(key, code_text(form.code.data))
        if step is None:
            form.code.errors.append(wrong_code())
        else:
            codes = user.enable_two_factor(key, step)
            send_security_notice(user, "two_factor_on", client_ip(), browser_name())
            db.session.commit()
            session.pop(SETUP_KEY, None)
            to_session(NEW_CODES, codes)
            audit.info("two_factor_enabled user_id=%s ip=%s", user.id, client_ip())
            flash(
                _(
                    "Two-factor sign-in is on. The code you typed is used up: your "
                    "next sign-in needs the next one your app shows."
                ),
                "success",
            )
            return redirect(url_for("account.recovery_codes"))
    uri = provisioning_uri(key, user.username)
    qr_code = segno.make(uri, error="m").svg_inline(
        scale=4, border=2, title=_("QR code for your authenticator app")
    )
    return render_template(
        "account/two_factor_setup.html",
        title=_("Turn on two-factor sign-in"),
        form=form,
        key=grouped(key),
        uri=uri,
        qr_code=qr_code,
    )


@bp.get("/two_factor/recovery_codes")
@login_required
def recovery_codes():
    """New recovery codes, shown once; later, how many are left."""
    if not current_user.two_factor_enabled:
        return redirect(url_for("account.settings"))
    codes = from_session(NEW_CODES)
    session.pop(NEW_CODES, None)
    download = None
    if codes:
        text = "\r\n".join(
            [
                _(
                    "Microblog recovery codes for %(username)s",
                    username=current_user.username,
                ),
                "",
            ]
            + codes
        )
        download = "data:text/plain;charset=utf-8," + quote(text + "\r\n")
    return render_template(
        "account/recovery_codes.html",
        title=_("Recovery codes"),
        codes=codes,
        download=download,
        left=current_user.recovery_codes_left(),
        form=EmptyForm(),
    )


@bp.post("/two_factor/recovery_codes")
@login_required
@recent_sign_in_required
def new_recovery_codes():
    """Void every recovery code and make ten new ones."""
    user = current_user._get_current_object()
    if EmptyForm().validate_on_submit() and user.two_factor_enabled:
        codes = user.new_recovery_codes()
        db.session.commit()
        to_session(NEW_CODES, codes)
        audit.info("recovery_codes_renewed user_id=%s ip=%s", user.id, client_ip())
        flash(_("Your old recovery codes no longer work. Save these."), "success")
    return redirect(url_for("account.recovery_codes"))


@bp.route("/two_factor/disable", methods=["GET", "POST"])
@login_required
@limiter.limit("20/hour", methods=["POST"])
def two_factor_disable():
    """Turn the second factor off: the password and a code, both now."""
    user = current_user._get_current_object()
    if not user.two_factor_enabled:
        return redirect(url_for("account.settings"))
    form = DisableTwoFactorForm()
    if form.validate_on_submit():
        problem = code_problem(user, code_text(form.code.data))
        if problem is None:
            user.disable_two_factor()
            send_security_notice(user, "two_factor_off", client_ip(), browser_name())
            db.session.commit()
            mark_recent()
            audit.info("two_factor_disabled user_id=%s ip=%s", user.id, client_ip())
            flash(_("Two-factor sign-in is off."), "info")
            return redirect(url_for("account.settings"))
        db.session.commit()  # the wrong code counts
        form.code.errors.append(problem)
    return render_template(
        "account/two_factor_disable.html",
        title=_("Turn off two-factor sign-in"),
        form=form,
    )
