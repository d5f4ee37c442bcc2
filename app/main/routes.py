"""Pages for posting, reading and following."""

from datetime import timedelta

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from app import db
from app.forms import USERNAME_TAKEN, EmptyForm
from app.fragments import blank_form_page
from app.main.forms import EditProfileForm, PostForm
from app.models import (
    EVERYONES_POSTS,
    FEED,
    POSTS_BY,
    PROFILE,
    Post,
    User,
    avatar_url,
    read,
    utcnow,
)
from app.models.sessions import note_seen
from app.pagination import paginate

bp = Blueprint("main", __name__)
bp.add_app_template_global(avatar_url)
LAST_SEEN_RESOLUTION = timedelta(minutes=1)
NO_USER_NEEDED = {"static", "health.healthz"}


@bp.before_app_request
def record_last_seen():
    """Note when a signed-in user, and this session, were last here (at most
    once a minute each)."""
    # Files and the health check need no user (and no database when it is down).
    if request.endpoint in NO_USER_NEEDED or (request.endpoint or "").endswith(
        ".static"
    ):
        return
    if current_user.is_authenticated:
        now = utcnow()
        seen = current_user.last_seen
        moved = note_seen(current_user.session_id, current_user.session_seen)
        if seen is None or now - seen > LAST_SEEN_RESOLUTION:
            current_user.last_seen = now
            moved = True
        if moved:
            db.session.commit()


@bp.route("/", methods=["GET", "POST"])
@bp.route("/index", methods=["GET", "POST"])
@login_required
def index():
    """Write a post; read those of the people you follow, and your own."""
    if request.method == "GET":
        form_html = blank_form_page("_post_form.html", PostForm)
    else:
        form = PostForm()
        if form.validate_on_submit():
            db.session.add(Post(body=form.post.data, user_id=current_user.id))
            db.session.commit()
            flash(_("Your post is now live!"), "success")
            return redirect(url_for("main.index"))
        form_html = render_template("_post_form.html", form=form)
    form_html = Markup(form_html)  # noqa: S704 (a rendered template: escaped already)
    posts = paginate(FEED, reader_id=current_user.id)
    title = _("Home")
    return render_template("index.html", title=title, form_html=form_html, posts=posts)


@bp.route("/explore")
@login_required
def explore():
    """Everyone's posts, newest first."""
    posts = paginate(EVERYONES_POSTS)
    return render_template("index.html", title=_("Explore"), posts=posts)


@bp.route("/user/<username>")
@login_required
def user(username):
    """A profile and its posts."""
    params = {"username": username, "viewer_id": current_user.id}
    profile = read(PROFILE, params).one_or_none()
    if profile is None:
        abort(404)
    return render_template(
        "user.html",
        title=profile.username,
        user=profile,
        posts=paginate(POSTS_BY, author_id=profile.id),
    )


@bp.route("/edit_profile", methods=["GET", "POST"])
@login_required
def edit_profile():
    """Change your username and about-me text."""
    form = EditProfileForm(current_user.username)
    if form.validate_on_submit():
        current_user.username = form.username.data
        current_user.about_me = form.about_me.data
        try:
            db.session.commit()
        except sa.exc.IntegrityError:
            # Someone took the name (in any case) since the form checked it.
            db.session.rollback()
            form.username.errors.append(USERNAME_TAKEN)
            return render_template(
                "edit_profile.html", title=_("Edit profile"), form=form
            )
        flash(_("Your changes have been saved."), "success")
        return redirect(url_for("main.edit_profile"))
    if request.method == "GET":
        form.username.data = current_user.username
        form.about_me.data = current_user.about_me
    return render_template("edit_profile.html", title=_("Edit profile"), form=form)


@bp.route("/follow/<username>", methods=["POST"])
@login_required
def follow(username):
    """Follow a user."""
    return change_following(username, follow=True)


@bp.route("/unfollow/<username>", methods=["POST"])
@login_required
def unfollow(username):
    """Stop following a user."""
    return change_following(username, follow=False)


def change_following(username: str, follow: bool):
    """Follow or unfollow username, then go back to their profile."""
    if not EmptyForm().validate_on_submit():
        return redirect(url_for("main.index"))
    target = db.session.scalar(sa.select(User).where(User.username == username))
    if target is None:
        flash(_("User %(username)s not found.", username=username), "warning")
        return redirect(url_for("main.index"))
    if target.id == current_user.id:
        flash(_("You cannot follow yourself!"), "warning")
        return redirect(url_for("main.user", username=username))
    if follow:
        current_user.follow(target)
        flash(_("You are following %(username)s!", username=username), "success")
    else:
        current_user.unfollow(target)
        flash(_("You are not following %(username)s.", username=username), "info")
    db.session.commit()
    return redirect(url_for("main.user", username=username))
