"""Taking your data with you (/account/export), and deleting the account."""

import json
import logging

import sqlalchemy as sa
from flask import Response, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, logout_user

from app import db, limiter
from app.account.email import send_goodbye_email
from app.account.forms import DeleteAccountForm
from app.account.routes import bp
from app.auth.sign_in import recent_sign_in_required
from app.auth.two_factor import code_problem
from app.models import Post, User, followers, utcnow
from app.models.passkeys import passkeys_of
from app.models.sessions import sessions_of
from app.models.two_factor import code_text
from app.request_helpers import client_ip

audit = logging.getLogger("app.audit")
WHAT_IS_LOST = _l(
    "Your profile, every post, who you follow and who follows you, your sessions, "
    "recovery codes and passkeys, and any mail still waiting to be sent."
)


def stamp(moment) -> str | None:
    """An instant as ISO 8601 UTC, for the export."""
    return moment.isoformat() if moment else None


def usernames(column, match) -> list[str]:
    """The usernames on one side of the account's follows."""
    return db.session.scalars(
        sa.select(User.username)
        .join(followers, column == User.id)
        .where(match == current_user.id)
        .order_by(User.username)
    ).all()


def exported(user: User) -> dict:
    """Everything the account holds that is its owner's to take (no secrets)."""
    posts = db.session.execute(
        sa.select(Post.body, Post.timestamp)
        .where(Post.user_id == user.id)
        .order_by(Post.timestamp, Post.id)
    ).all()
    return {
        "exported_at": stamp(utcnow()),
        "profile": {
            "username": user.username,
            "email": user.email,
            "email_confirmed": user.email_confirmed,
            "about_me": user.about_me,
            "last_seen": stamp(user.last_seen),
            "language": user.locale,
        },
        "posts": [
            {"body": row.body, "timestamp": stamp(row.timestamp)} for row in posts
        ],
        "following": usernames(followers.c.followed_id, followers.c.follower_id),
        "followers": usernames(followers.c.follower_id, followers.c.followed_id),
        "sessions": [
            {
                "browser": record.browser,
                "system": record.system,
                "ip": record.ip,
                "signed_in_with": record.method,
                "started_at": stamp(record.started_at),
                "last_seen_at": stamp(record.last_seen_at),
                "ended_at": stamp(record.ended_at),
            }
            for record in sessions_of(user.id)
        ],
        "two_factor": user.two_factor_enabled,
        "passkeys": [
            {"name": key.name, "added_at": stamp(key.created_at)}
            for key in passkeys_of(user.id)
        ],
    }


@bp.get("/account/export")
@login_required
@recent_sign_in_required
@limiter.limit("10/hour")
def export_account():
    """One JSON file: profile, posts, follows, sessions, language, second factor."""
    user = current_user._get_current_object()
    audit.info("account_exported user_id=%s ip=%s", user.id, client_ip())
    body = json.dumps(exported(user), ensure_ascii=False, indent=2)
    name = f"microblog-{user.username}.json"
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.route("/account/delete", methods=["GET", "POST"])
@login_required
@recent_sign_in_required
@limiter.limit("10/hour", methods=["POST"])
def delete_account():
    """What will be lost, and the password (and a code) to delete it all."""
    user = current_user._get_current_object()
    form = DeleteAccountForm()
    if not user.two_factor_enabled:
        del form.code
    if form.validate_on_submit():
        problem = (
            code_problem(user, code_text(form.code.data))
            if user.two_factor_enabled
            else None
        )
        if problem is None:
            delete_everything(user, client_ip())
            logout_user()
            flash(_("Your account and everything in it were deleted. Goodbye."), "info")
            return redirect(url_for("auth.login"))
        db.session.commit()  # the wrong code counts
        form.code.errors.append(problem)
    return render_template(
        "account/delete.html",
        title=_("Delete your account"),
        form=form,
        lost=WHAT_IS_LOST,
    )


def delete_everything(user: User, by: str) -> None:
    """In one transaction: the account, all it owns (the database's cascades),
    its queued mail; then one goodbye mail to the address."""
    user_id, username, address = user.id, user.username, user.email
    # Posts, follows both ways, sessions, codes, passkeys and the outbox rows
    # about the account go with it (ON DELETE CASCADE).
    db.session.execute(sa.delete(User).where(User.id == user_id))
    send_goodbye_email(username, address, user.locale)
    db.session.commit()
    db.session.expunge_all()
    audit.info("account_deleted user_id=%s by=%s", user_id, by)
