"""Getting in: register, sign in and out, and reset a forgotten password."""

import logging

import sqlalchemy as sa
from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, logout_user

from app import db, limiter
from app.auth.email import (
    request_password_reset,
    send_confirmation_email,
    send_password_changed_email,
    send_registration_attempt_email,
)
from app.auth.forms import (
    LoginForm,
    RegistrationForm,
    ResetPasswordForm,
    ResetPasswordRequestForm,
)
from app.auth.sign_in import finish_sign_in
from app.forms import USERNAME_TAKEN, EmptyForm, username_taken
from app.fragments import blank_form_page
from app.i18n import current_locale
from app.limits import (
    address_digest,
    failed_login,
    login_name_key,
    mail_allowed_to,
    reset_address_key,
)
from app.models import PendingSignIn, User
from app.models.sessions import end_session
from app.request_helpers import client_ip, safe_next_url

bp = Blueprint("auth", __name__)
audit = logging.getLogger("app.audit")

RESET_SESSION_KEY = "_password_reset_token"
# The browser's token for its half-done sign-in (app.models.PendingSignIn).
PENDING_SIGN_IN = "_pending_sign_in"
# One message for every address, so the page never tells who has an account.
RESET_REQUESTED = _l(
    "If that address is registered, we've sent it a link to reset your password. "
    "It may take a minute to arrive."
)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("60/hour", methods=["POST"])
@limiter.limit(
    "10/hour", key_func=login_name_key, methods=["POST"], deduct_when=failed_login
)
def login():
    """Sign in with username and password."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    if request.method == "GET":
        return blank_form_page("auth/login.html", LoginForm, title=_("Sign in"))
    form = LoginForm()
    if form.validate_on_submit():
        user = User.by_username(form.username.data)
        if user is None or not user.check_password(form.password.data):
            flash(_("Invalid username or password."), "danger")
            return render_template("auth/login.html", title=_("Sign in"), form=form)
        if user.password_needs_rehash():
            user.rehash_password(form.password.data)
            db.session.commit()
        next_page = safe_next_url(request.args.get("next"))
        if user.two_factor_enabled and user.is_active:
            # A right password alone signs nobody in: the code comes next.
            session[PENDING_SIGN_IN] = PendingSignIn.start(
                user.id, form.remember_me.data, next_page
            )
            db.session.commit()
            return redirect(url_for("auth.login_two_factor"))
        response = finish_sign_in(user, form.remember_me.data, next_page)
        if response is None:
            flash(_("Invalid username or password."), "danger")
            return render_template("auth/login.html", title=_("Sign in"), form=form)
        return response
    return render_template("auth/login.html", title=_("Sign in"), form=form)


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    """Sign out: a POST does it; a GET only asks for confirmation."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    if EmptyForm().validate_on_submit():
        end_session(current_user.session_id)
        db.session.commit()
        logout_user()
        flash(_("You have been signed out."), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/logout.html", title=_("Sign out"))


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit("20/hour", methods=["POST"])
def register():
    """Create an account."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    if request.method == "GET":
        return blank_form_page(
            "auth/register.html", RegistrationForm, title=_("Register")
        )
    form = RegistrationForm()
    if form.validate_on_submit():
        user = User(
            username=form.username.data,
            email=form.email.data,
            locale=current_locale(),  # the language it signed up in
        )
        # Hashed on both paths, so a taken address costs the same time.
        user.set_password(form.password.data)
        owner = User.by_email(user.email)
        try:
            if owner is None and User.reserving(user.email) is None:
                db.session.add(user)
                db.session.flush()  # the id the confirmation link names
                send_confirmation_email(user)
            elif owner is not None and mail_allowed_to(user.email):
                send_registration_attempt_email(owner)
            db.session.commit()
        except sa.exc.IntegrityError:
            # Another sign-up took the username (in any case) or the address a
            # moment ago: the database's unique indexes refused this one.
            db.session.rollback()
            if username_taken(form.username.data):
                form.username.errors.append(USERNAME_TAKEN)
                return render_template(
                    "auth/register.html", title=_("Register"), form=form
                )
        # The same for a fresh address and a taken one: it says nobody has an account.
        welcome = _(
            "Welcome! We've sent a link to %(email)s to confirm your address. "
            "You can sign in now.",
            email=form.email.data,
        )
        flash(welcome, "success")
        return redirect(url_for("auth.login"))
    return render_template("auth/register.html", title=_("Register"), form=form)


@bp.route("/reset_password_request", methods=["GET", "POST"])
@limiter.limit("20/hour", methods=["POST"])
@limiter.limit(
    lambda: current_app.config["RESET_REQUESTS_PER_ADDRESS"],
    key_func=reset_address_key,
    methods=["POST"],
)
def reset_password_request():
    """Ask for a reset link by email."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    if request.method == "GET":
        return blank_form_page(
            "auth/reset_password_request.html",
            ResetPasswordRequestForm,
            title=_("Reset password"),
        )
    form = ResetPasswordRequestForm()
    if form.validate_on_submit():
        request_password_reset(form.email.data)
        db.session.commit()
        audit.info(
            "password_reset_requested address=%s ip=%s",
            address_digest(form.email.data),
            client_ip(),
        )
        flash(str(RESET_REQUESTED), "info")
        return redirect(url_for("auth.login"))
    return render_template(
        "auth/reset_password_request.html", title=_("Reset password"), form=form
    )


@bp.route("/reset_password/<token>", methods=["GET", "POST"])
@limiter.limit("60/hour")
def reset_password(token):
    """The emailed link: park the token in the session, then drop it from the URL."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    user = User.verify_reset_password_token(token)
    if user is None:
        return invalid_reset_link()
    if request.method == "GET":
        session[RESET_SESSION_KEY] = token
        return redirect(url_for("auth.set_new_password"))
    return new_password_form(user)


@bp.route("/reset_password/set-password", methods=["GET", "POST"])
@limiter.limit("60/hour")
def set_new_password():
    """The new-password form, at a URL that carries no token."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    token = session.get(RESET_SESSION_KEY)
    user = User.verify_reset_password_token(token) if token else None
    if user is None:
        return invalid_reset_link()
    return new_password_form(user)


def new_password_form(user: User):
    """Show or accept the new password for user; the link dies once it is used."""
    form = ResetPasswordForm()
    form.user = user
    if form.validate_on_submit():
        user.set_password(form.password.data)
        # The link proved the mailbox; any address change in flight dies.
        user.confirm_email()
        user.cancel_email_change()
        send_password_changed_email(user)
        db.session.commit()
        session.pop(RESET_SESSION_KEY, None)
        audit.info("password_reset_completed user_id=%s ip=%s", user.id, client_ip())
        flash(_("Your password has been reset. Please sign in."), "success")
        return redirect(url_for("auth.login"))
    return render_template(
        "auth/reset_password.html",
        title=_("Choose a new password"),
        form=form,
        minutes=current_app.config["RESET_TOKEN_EXPIRES"] // 60,
    )


def invalid_reset_link():
    """One answer for every bad link: forged, expired, used or malformed."""
    session.pop(RESET_SESSION_KEY, None)
    audit.warning("password_reset_refused reason=invalid_token ip=%s", client_ip())
    flash(_("That reset link is invalid or has expired. Request a new one."), "warning")
    return redirect(url_for("auth.reset_password_request"))
