"""Profile pages and editing your own profile."""

import hashlib
import re

import pytest
import sqlalchemy as sa

from app import db
from app.models import User
from tests.conftest import field_error

REQUIRED = "This field is required."
TAKEN = "That username is taken; please choose another."
BAD_USERNAME = "Use letters, digits, '.', '-' or '_'."


def profile_row(app, user_id):
    """(username, about_me) of the user with user_id."""
    with app.app_context():
        user = db.session.get(User, user_id)
        return user.username, user.about_me


def test_profile_requires_login(client, make_user):
    make_user()
    response = client.get("/user/susan")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=%2Fuser%2Fsusan"


def test_profile_page(client, auth, make_user):
    make_user("susan")
    make_user("john", about_me="I like tea & <b>cake</b>")
    auth.login()
    response = client.get("/user/john")
    assert response.status_code == 200
    digest = hashlib.md5(b"john@example.org", usedforsecurity=False).hexdigest()
    assert f"https://www.gravatar.com/avatar/{digest}?d=identicon&amp;s=128" in (
        response.text
    )
    assert "I like tea &amp; &lt;b&gt;cake&lt;/b&gt;" in response.text
    assert "0 followers, 0 following." in response.text
    assert "Last seen " in response.text and " ago" in response.text
    assert 'action="/follow/john"' in response.text
    assert "Edit your profile" not in response.text


def test_own_profile_links_to_edit(client, auth, make_user):
    make_user()
    auth.login()
    response = client.get("/user/susan")
    assert response.status_code == 200
    assert 'href="/edit_profile"' in response.text
    assert 'href="/settings"' in response.text
    assert 'action="/follow/susan"' not in response.text


def test_profile_lists_own_posts(client, auth, make_user):
    make_user()
    auth.login()
    client.post("/index", data={"post": "my very first post"})
    response = client.get("/user/susan")
    assert "my very first post" in response.text


@pytest.mark.parametrize("name", ["nobody", "susan.x"])
def test_unknown_profile_is_404(client, auth, make_user, name):
    make_user()
    auth.login()
    response = client.get(f"/user/{name}")
    assert response.status_code == 404
    assert "There is nothing at this address." in response.text


@pytest.mark.parametrize("method", ["get", "post"])
def test_edit_profile_requires_login(app, client, make_user, method):
    user_id = make_user()
    response = getattr(client, method)("/edit_profile", data={"username": "x"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=%2Fedit_profile"
    assert profile_row(app, user_id) == ("susan", None)


def test_edit_profile_form_is_filled_in(client, auth, make_user):
    make_user(about_me="Gardener")
    auth.login()
    response = client.get("/edit_profile")
    assert response.status_code == 200
    assert 'value="susan"' in response.text
    assert re.search(r"<textarea[^>]*>\s*Gardener</textarea>", response.text)


def test_about_me_keeps_its_leading_line_break(client, auth, make_user):
    make_user(about_me="\nGardener")
    auth.login()
    page = client.get("/edit_profile").text
    # A browser drops the first line break after <textarea>, so two must be there.
    assert re.search(r"<textarea[^>]*>\n\nGardener</textarea>", page)


def test_edit_profile(app, client, auth, make_user):
    user_id = make_user()
    auth.login()
    data = {"username": "susanna", "about_me": "Keeps bees."}
    response = client.post("/edit_profile", data=data)
    assert response.status_code == 302
    assert response.headers["Location"] == "/edit_profile"
    assert "Your changes have been saved." in client.get("/edit_profile").text
    assert profile_row(app, user_id) == ("susanna", "Keeps bees.")
    assert "Keeps bees." in client.get("/user/susanna").text
    assert client.get("/user/susan").status_code == 404


def test_edit_profile_change_own_case(app, client, auth, make_user):
    user_id = make_user()
    auth.login()
    response = client.post("/edit_profile", data={"username": "Susan"})
    assert response.status_code == 302
    assert profile_row(app, user_id)[0] == "Susan"


@pytest.mark.parametrize(
    ("field", "data", "message"),
    [
        ("username", {"username": "john"}, TAKEN),
        ("username", {"username": "JOHN"}, TAKEN),
        ("username", {"username": ""}, REQUIRED),
        ("username", {"username": "su san"}, BAD_USERNAME),
        (
            "about_me",
            {"username": "susan", "about_me": "x" * 141},
            "Field cannot be longer than 140 characters.",
        ),
    ],
)
def test_edit_profile_errors(app, client, auth, make_user, field, data, message):
    user_id = make_user(about_me="Gardener")
    make_user("john")
    auth.login()
    data = {"about_me": "Changed", **data}
    response = client.post("/edit_profile", data=data)
    assert response.status_code == 200
    assert field_error(response, field) == message
    assert profile_row(app, user_id) == ("susan", "Gardener")


def test_edit_profile_about_me_of_140(app, client, auth, make_user):
    user_id = make_user()
    auth.login()
    response = client.post(
        "/edit_profile", data={"username": "susan", "about_me": "x" * 140}
    )
    assert response.status_code == 302
    assert profile_row(app, user_id) == ("susan", "x" * 140)


def test_user_table_unchanged_by_failed_edit(app, client, auth, make_user):
    make_user()
    make_user("john")
    auth.login()
    client.post("/edit_profile", data={"username": "john"})
    with app.app_context():
        names = db.session.scalars(sa.select(User.username).order_by(User.id)).all()
    assert names == ["susan", "john"]
