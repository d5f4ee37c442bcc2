"""Managing the account you have: settings, password, proving and changing the address.

Every emailed link here opens a page with one button and only its POST acts, because
mail scanners open links. The links are signed, expire, work once and never sign
anyone in (app.tokens, User.token_state).
"""

import logging

import sqlalchemy as sa
from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user

from app import db, limiter
from app.account.email import (
    send_change_email_link,
    send_change_email_taken_email,
    send_email_changed_emails,
)
from app.account.forms import ChangeEmailForm, ChangePasswordForm
from app.auth.email import (
    request_password_reset,
    send_confirmation_email,
    send_password_changed_email,
)
from app.auth.sign_in import mark_recent, sign_in
from app.forms import EmptyForm
from app.limits import mail_allowed_to
from app.models import CHANGE_PURPOSE, CONFIRM_PURPOSE, REVERT_PURPOSE, User
from app.request_helpers import browser_name, client_ip, safe_next_url

bp = Blueprint("account", __name__)
audit = logging.getLogger("app.audit")


@bp.route("/settings")
@login_required
def settings():
    """One place for the password, the address and its pending change."""
    return render_template(
        "account/settings.html", title=_("Settings"), form=EmptyForm()
    )


@bp.route("/change_password", methods=["GET", "POST"])
@login_required
@limiter.limit("20/hour", methods=["POST"])
def change_password():
    """Change the password; every other session of this user ends."""
    form = ChangePasswordForm()
    form.user = current_user
    if form.validate_on_submit():
        cookie = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
        remembered = cookie in request.cookies
        user = current_user._get_current_object()
        user.set_password(form.password.data)
        # Whoever asked for a change may have known the old password.
        user.cancel_email_change()
        send_password_changed_email(user)
        db.session.commit()
        sign_in(user, remember=remembered)  # asked for the password: recent
        flash(
            _("Password changed. Your other sessions have been signed out."), "success"
        )
        return redirect(url_for("account.settings"))
    return render_template(
        "account/change_password.html", title=_("Change password"), form=form
    )


# --- Proving the address ------------------------------------------------------


def resend_answer(_limit=None):
    """The one answer to a resend, sent or not (so limits reveal nothing)."""
    flash(
        _(
            "We've sent a new confirmation link to %(email)s. It may take a minute.",
            email=current_user.email,
        ),
        "info",
    )
    return redirect(safe_next_url(request.form.get("next")) or url_for("main.index"))


def account_key() -> str:
    """Rate-limit key: the signed-in account."""
    return f"account:{current_user.id if current_user.is_authenticated else '-'}"


@bp.post("/confirm_email/resend")
@login_required
@limiter.limit("20/hour", on_breach=resend_answer)
@limiter.limit(
    lambda: current_app.config["CONFIRM_RESENDS_PER_ACCOUNT"],
    key_func=account_key,
    on_breach=resend_answer,
)
def resend_confirmation():
    """Mail a fresh confirmation link to the address on file."""
    if EmptyForm().validate_on_submit() and not current_user.email_confirmed:
        send_confirmation_email(current_user)
        db.session.commit()
    return resend_answer()


@bp.route("/confirm_email/<token>", methods=["GET", "POST"])
@limiter.limit("60/hour")
def confirm_email(token):
    """The link mailed at sign-up: a button that proves the address."""
    user = User.from_token(CONFIRM_PURPOSE, token)
    if user is None:
        return invalid_link("confirm_email")
    form = EmptyForm()
    if form.validate_on_submit():
        user.confirm_email()
        db.session.commit()
        audit.info("email_confirmed user_id=%s ip=%s", user.id, client_ip())
        flash(_("Thank you: %(email)s is confirmed.", email=user.email), "success")
        return redirect(url_for("main.index" if is_viewer(user) else "auth.login"))
    return link_page(
        form,
        title=_("Confirm your address"),
        message=_(
            "Confirm that %(email)s is the address of %(username)s.",
            email=user.email,
            username=user.username,
        ),
        button=_("Confirm my address"),
    )


def is_viewer(user: User) -> bool:
    """Whether user is the one signed in in this browser."""
    return current_user.is_authenticated and current_user.id == user.id


# --- Changing it --------------------------------------------------------------


@bp.route("/change_email", methods=["GET", "POST"])
@login_required
@limiter.limit("10/hour", methods=["POST"])
def change_email():
    """Ask for a new address; nothing changes until its link is followed."""
    form = ChangeEmailForm()
    if form.validate_on_submit():
        mark_recent()  # the form asked for the current password
        user = current_user._get_current_object()
        user.request_email_change(form.email.data)
        holder = User.by_email(form.email.data)
        if holder is None and not claimed_by_another(form.email.data, user):
            send_change_email_link(user)
        elif holder is not None and mail_allowed_to(form.email.data):
            # Same answer as for any address; the holder hears of it instead.
            send_change_email_taken_email(user, form.email.data)
        db.session.commit()
        audit.info("email_change_requested user_id=%s ip=%s", user.id, client_ip())
        flash(
            _(
                "We've sent a link to %(email)s. Your address changes when you "
                "follow it.",
                email=user.pending_email,
            ),
            "info",
        )
        return redirect(url_for("account.settings"))
    return render_template(
        "account/change_email.html", title=_("Change your email address"), form=form
    )


@bp.post("/change_email/cancel")
@login_required
def cancel_email_change():
    """Drop the pending change; its link stops working."""
    if EmptyForm().validate_on_submit() and current_user.pending_email:
        current_user.cancel_email_change()
        db.session.commit()
        flash(_("The address change was cancelled."), "info")
    return redirect(url_for("account.settings"))


@bp.route("/change_email/<token>", methods=["GET", "POST"])
@limiter.limit("60/hour")
def apply_email_change(token):
    """The link mailed to the new address: a button that makes it the address."""
    user = User.from_token(CHANGE_PURPOSE, token)
    if user is None:
        return invalid_link("change_email")
    form = EmptyForm()
    if form.validate_on_submit():
        if claimed_by_another(user.pending_email, user):
            # Taken since the request: it never becomes this account's.
            user.cancel_email_change()
            db.session.commit()
            return invalid_link("change_email")
        replaced = user.apply_email_change()
        send_email_changed_emails(user, replaced, client_ip(), browser_name())
        if not committed():
            return invalid_link("change_email")
        audit.info("email_changed user_id=%s ip=%s", user.id, client_ip())
        flash(_("Your email address is now %(email)s.", email=user.email), "success")
        return redirect(url_for("main.index" if is_viewer(user) else "auth.login"))
    return link_page(
        form,
        title=_("Confirm your new address"),
        message=_(
            "Make %(email)s the address of %(username)s. Reset links and notices "
            "will go there from now on.",
            email=user.pending_email,
            username=user.username,
        ),
        button=_("Use this address"),
    )


@bp.route("/revert_email/<token>", methods=["GET", "POST"])
@limiter.limit("60/hour")
def revert_email(token):
    """The link mailed to the old address: undo the change, end every session."""
    user = User.from_token(REVERT_PURPOSE, token)
    if user is None:
        return invalid_link("revert_email")
    form = EmptyForm()
    if form.validate_on_submit():
        holder = User.by_email(user.previous_email)
        if holder is not None and holder.id != user.id:
            return invalid_link("revert_email")
        user.revert_email_change()
        request_password_reset(user.email)
        if not committed():
            return invalid_link("revert_email")
        if current_user.is_authenticated:
            logout_user()
        audit.info("email_change_reverted user_id=%s ip=%s", user.id, client_ip())
        flash(
            _(
                "%(email)s is your address again, and every session was signed out. "
                "We've sent it a link to choose a new password.",
                email=user.email,
            ),
            "success",
        )
        return redirect(url_for("auth.login"))
    return link_page(
        form,
        title=_("Undo the address change"),
        message=_(
            "Make %(email)s the address of %(username)s again. Every session is "
            "signed out, the password stops working, and this address gets a link "
            "to choose a new one.",
            email=user.previous_email,
            username=user.username,
        ),
        button=_("Restore my address"),
    )


def link_page(form: EmptyForm, **text):
    """The page an emailed link opens: what it will do, and one button to do it."""
    return render_template("account/link_page.html", form=form, **text)


def claimed_by_another(address: str, user: User) -> bool:
    """Whether another account holds address, or may still restore it (undo)."""
    holder = User.by_email(address) or User.reserving(address)
    return holder is not None and holder.id != user.id


def committed() -> bool:
    """Commit; False (rolled back) when a unique address was taken meanwhile."""
    try:
        db.session.commit()
    except sa.exc.IntegrityError:
        db.session.rollback()
        return False
    return True


def invalid_link(kind: str):
    """One clear page for a forged, expired or used link; it signs nobody in."""
    audit.warning("link_refused kind=%s ip=%s", kind, client_ip())
    return render_template("account/invalid_link.html", title=_("Link not valid")), 410
