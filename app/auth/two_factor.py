"""The second step of signing in (a code after the password), and signing in
again before a sensitive change (/reauthenticate)."""

import logging
import time

from flask import (
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from app import db, limiter
from app.auth.email import send_security_notice
from app.auth.forms import ReauthenticateCodeForm, ReauthenticateForm, TwoFactorForm
from app.auth.routes import PENDING_SIGN_IN, bp
from app.auth.sign_in import finish_sign_in, mark_recent
from app.encryption import InvalidToken
from app.models import PendingSignIn, User, active_user
from app.models.two_factor import code_text, is_totp_code
from app.request_helpers import browser_name, client_ip, safe_next_url

audit = logging.getLogger("app.audit")


@bp.route("/login/two_factor", methods=["GET", "POST"])
@limiter.limit("60/hour", methods=["POST"])
def login_two_factor():
    """After a right password: a code from the app, or a recovery code."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    pending = PendingSignIn.find(session.get(PENDING_SIGN_IN))
    user = active_user(pending.user_id) if pending else None
    if user is None:
        return restart_sign_in(
            _("That sign-in took too long or began elsewhere. Please sign in again.")
        )
    form = TwoFactorForm()
    if form.validate_on_submit():
        code = code_text(form.code.data)
        problem = code_problem(user, code)
        if problem is None:
            remember, next_url = pending.remember, pending.next_url
            db.session.delete(pending)
            session.pop(PENDING_SIGN_IN, None)
            method = "code" if is_totp_code(code) else "recovery code"
            response = finish_sign_in(user, remember, next_url, method)
            db.session.commit()
            audit.info("two_factor_passed user_id=%s ip=%s", user.id, client_ip())
            return response
        pending.failures += 1
        if pending.failures >= current_app.config["TWO_FACTOR_CODES_PER_SIGN_IN"]:
            db.session.delete(pending)
            db.session.commit()
            return restart_sign_in(
                _("Too many wrong codes. Please sign in again with your password.")
            )
        db.session.commit()
        form.code.errors.append(problem)
    return render_template(
        "auth/login_two_factor.html", title=_("Two-factor sign-in"), form=form
    )


def restart_sign_in(message: str):
    """Back to the password, saying why; the half-done sign-in is gone."""
    session.pop(PENDING_SIGN_IN, None)
    db.session.commit()  # an expired half-done sign-in was removed
    flash(message, "warning")
    return redirect(url_for("auth.login"))


def code_problem(user: User, code: str) -> str | None:
    """None when code is accepted (and spent); else what to tell the person.

    Every wrong code counts against the account's hourly allowance, whichever
    browser typed it; the owner hears when it runs out.
    """
    limit = current_app.config["TWO_FACTOR_FAILURES_PER_HOUR"]
    if user.codes_locked():
        return _(
            "Too many wrong codes were typed for this account in the last hour. "
            "Wait an hour and try again."
        )
    if is_totp_code(code):
        try:
            user.authenticator_key()
        except InvalidToken:
            # Encrypted under a SECRET_KEY no longer in SECRET_KEY_FALLBACKS.
            current_app.logger.error(
                "user_id=%s: the authenticator key opens with neither SECRET_KEY "
                "nor SECRET_KEY_FALLBACKS; put the old secret back in the fallbacks",
                user.id,
            )
            return _(
                "Codes from your app can't be checked just now. Use a recovery "
                "code, or try again later."
            )
        if user.check_totp(code):
            db.session.commit()  # the step is spent, and a stale key re-encrypted
            return None
        if user.code_was_used(code):
            return _(
                "That code was used already. Wait for your app to show the next one."
            )
    elif user.use_recovery_code(code):
        spent_recovery_code(user)
        return None
    if user.count_code_failure() == limit:
        send_security_notice(user, "code_failures", client_ip(), browser_name())
        audit.warning("two_factor_locked user_id=%s ip=%s", user.id, client_ip())
    audit.warning("two_factor_failed user_id=%s ip=%s", user.id, client_ip())
    return wrong_code()


def wrong_code() -> str:
    """A wrong code's message, with the server's time (the usual cause is a clock)."""
    return _(
        "That code is not right. Check that your phone's clock is right: "
        "it is %(time)s UTC here.",
        time=time.strftime("%H:%M:%S", time.gmtime()),
    )


def spent_recovery_code(user: User) -> None:
    """Tell the owner by mail, and the person on the next page, how many are left."""
    left = user.recovery_codes_left()
    send_security_notice(
        user, "recovery_code_used", client_ip(), browser_name(), left=left
    )
    audit.info("recovery_code_used user_id=%s left=%s", user.id, left)
    message = ngettext(
        "You signed in with a recovery code. %(num)s recovery code is left.",
        "You signed in with a recovery code. %(num)s recovery codes are left.",
        left,
    )
    if left <= 3:
        message += " " + _("Make new ones in Settings before you run out.")
    flash(message, "warning")


@bp.route("/reauthenticate", methods=["GET", "POST"])
@login_required
@limiter.limit("20/hour", methods=["POST"])
def reauthenticate():
    """Prove it is still you (password, or a code) before a sensitive change."""
    user = current_user._get_current_object()
    form = (
        ReauthenticateCodeForm() if user.two_factor_enabled else (ReauthenticateForm())
    )
    next_page = safe_next_url(request.args.get("next")) or url_for("account.settings")
    if form.validate_on_submit():
        if user.two_factor_enabled:
            problem = code_problem(user, code_text(form.code.data))
        elif user.check_password(form.password.data):
            problem = None
        else:
            problem = _("That is not your password.")
        db.session.commit()
        if problem is None:
            mark_recent()
            return redirect(next_page)
        field = form.code if user.two_factor_enabled else form.password
        field.errors.append(problem)
    return render_template(
        "auth/reauthenticate.html", title=_("Confirm it's you"), form=form
    )
