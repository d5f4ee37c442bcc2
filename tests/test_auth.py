"""Registering, signing in and out, and changing the password, through HTTP."""

import html
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from app import db
from app.models import User
from tests.conftest import PASSWORD, AuthActions, field_error

NEW_PASSWORD = "copper violin meadow 77"
REQUIRED = "This field is required."
BAD_USERNAME = "Use letters, digits, '.', '-' or '_'."
BAD_EMAIL = "Invalid email address."
TOO_SHORT = "Use at least 15 characters; a few words make it easy."
TOO_LONG = "Use at most 128 characters."
TOO_COMMON = "This password is too common: it is among the first ones attackers try."
REPEATED = "This password is one short piece repeated"
PERSONAL = "without your username or email address"
SITE_NAME = "without the site's name"
MISMATCH = "The passwords don't match."
USERNAME_TAKEN = "That username is taken; please choose another."
CHANGED_SUBJECT = "[Microblog] Your password was changed"


def user_count(app):
    """How many accounts the database holds."""
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(User.id)))


def stored_user(app, username="susan"):
    """The user row as (email, password_hash, session_token), or None."""
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == username))
        if user is None:
            return None
        return user.email, user.password_hash, user.session_token


def registration(**changes):
    """A valid registration form with changes; password2 follows password."""
    data = {
        "username": "susan",
        "email": "susan@example.org",
        "password": PASSWORD,
        "password2": PASSWORD,
    }
    if "password" in changes and "password2" not in changes:
        changes["password2"] = changes["password"]
    data.update(changes)
    return data


def sent_to_login(client):
    """Whether client, asking for the home page, is sent to sign in."""
    response = client.get("/index")
    return (
        response.status_code == 302
        and response.headers["Location"] == "/login?next=%2Findex"
    )


def is_app_relative(location):
    """Whether a Location header is a path on this site (no scheme, no host)."""
    parts = urlsplit(location)
    return (
        location.startswith("/")
        and not location.startswith(("//", "/\\"))
        and "\\" not in location
        and not parts.scheme
        and not parts.netloc
        and not any(ord(char) < 32 or ord(char) == 127 for char in location)
    )


# Registration


def test_register_page(client):
    response = client.get("/register")
    assert response.status_code == 200
    assert 'name="password2"' in response.text


@pytest.mark.parametrize(
    ("field", "changes", "message"),
    [
        ("username", {"username": ""}, REQUIRED),
        ("username", {"username": "   "}, REQUIRED),
        ("email", {"email": ""}, REQUIRED),
        ("password", {"password": "", "password2": ""}, REQUIRED),
        ("password2", {"password2": ""}, REQUIRED),
        ("username", {"username": "su san"}, BAD_USERNAME),
        ("username", {"username": "susan!"}, BAD_USERNAME),
        ("username", {"username": "su/san"}, BAD_USERNAME),
        ("username", {"username": "<b>susan</b>"}, BAD_USERNAME),
        (
            "username",
            {"username": "s" * 65},
            "Field cannot be longer than 64 characters.",
        ),
        ("email", {"email": "not-an-address"}, BAD_EMAIL),
        ("email", {"email": "susan@"}, BAD_EMAIL),
        ("email", {"email": "@example.org"}, BAD_EMAIL),
        ("email", {"email": "susan@example"}, BAD_EMAIL),
        ("email", {"email": "su san@example.org"}, BAD_EMAIL),
        ("password", {"password": "short pass 1"}, TOO_SHORT),
        ("password", {"password": "lamp orbit " * 12}, TOO_LONG),
        ("password", {"password": "password12345678!"}, TOO_COMMON),
        ("password", {"password": "Password1234567"}, TOO_COMMON),
        ("password", {"password": "abababababababab"}, REPEATED),
        ("password", {"password": "susan@example.org 2024"}, PERSONAL),
        ("password", {"password": "SUSAN@EXAMPLE.ORG!1990"}, PERSONAL),
        (
            "password",
            {"email": "walrus@example.org", "password": "walrus-example-2024"},
            PERSONAL,
        ),
        ("password", {"password": "my microblog 2024!"}, SITE_NAME),
        ("password2", {"password2": PASSWORD + "x"}, MISMATCH),
    ],
)
def test_register_form_errors(app, client, field, changes, message):
    response = client.post("/register", data=registration(**changes))
    assert response.status_code == 200
    assert message in field_error(response, field)
    assert user_count(app) == 0


@pytest.mark.parametrize("value", ["SUSAN", "Susan"])
def test_register_taken_username_is_said(app, client, make_user, value):
    make_user("susan", email="susan@example.org")
    data = registration(username=value, email="other@example.org")
    response = client.post("/register", data=data)
    assert response.status_code == 200
    assert USERNAME_TAKEN in field_error(response, "username")
    assert user_count(app) == 1


def test_register_then_log_in(app, client, auth):
    response = client.post("/register", data=registration(username=" susan "))
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    page = html.unescape(client.get("/login").text)
    assert "We've sent a link to susan@example.org to confirm your address" in page
    email, password_hash, _ = stored_user(app)
    assert email == "susan@example.org"
    assert password_hash.startswith("$argon2id$")
    assert PASSWORD not in password_hash

    response = auth.login()
    assert response.headers["Location"] == "/index"
    assert "Hi, susan!" in client.get("/index").text


# Logging in


def test_login_page(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert 'name="remember_me"' in response.text


def test_login(client, auth, make_user):
    make_user()
    response = auth.login()
    assert response.status_code == 302
    assert response.headers["Location"] == "/index"
    assert client.get_cookie("remember_token", domain="app.example.com") is None
    index = client.get("/index")
    assert index.status_code == 200
    assert "Hi, susan!" in index.text


def test_login_username_ignores_case(client, auth, make_user):
    make_user()
    response = auth.login(username="SUSAN")
    assert response.headers["Location"] == "/index"
    assert client.get("/index").status_code == 200


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("susan", "wrong lamp orbit 42"),
        ("susan", PASSWORD.upper()),
        ("nobody", PASSWORD),
    ],
)
def test_login_fails(client, auth, make_user, username, password):
    make_user()
    response = auth.login(username=username, password=password)
    assert response.status_code == 200
    assert "Invalid username or password." in response.text
    assert client.get("/index").status_code == 302


def test_login_deactivated_account_fails(client, auth, make_user):
    make_user(active=False)
    response = auth.login()
    assert response.status_code == 200
    assert "Invalid username or password." in response.text
    assert client.get("/index").status_code == 302


@pytest.mark.parametrize("field", ["username", "password"])
def test_login_missing_field(client, make_user, field):
    make_user()
    data = {"username": "susan", "password": PASSWORD, field: ""}
    response = client.post("/login", data=data)
    assert response.status_code == 200
    assert field_error(response, field) == REQUIRED
    assert client.get("/index").status_code == 302


def test_remember_me_sets_cookie(app, client, auth, make_user):
    make_user()
    response = auth.login(remember=True)
    assert response.status_code == 302
    cookie = client.get_cookie("remember_token", domain="app.example.com")
    assert cookie is not None
    assert cookie.http_only

    # The cookie alone signs a new browser in.
    fresh = app.test_client()
    fresh.set_cookie("remember_token", cookie.value, domain="app.example.com")
    assert fresh.get("/index").status_code == 200


def test_login_redirect_round_trip(client, make_user):
    make_user()
    response = client.get("/index")
    assert response.headers["Location"] == "/login?next=%2Findex"
    response = client.post(
        response.headers["Location"], data={"username": "susan", "password": PASSWORD}
    )
    assert response.headers["Location"] == "/index"


@pytest.mark.parametrize("target", ["/user/susan", "/explore?page=2", "/edit_profile"])
def test_login_honours_onsite_next(client, make_user, target):
    make_user()
    response = client.post(
        "/login",
        query_string={"next": target},
        data={"username": "susan", "password": PASSWORD},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == target


@pytest.mark.parametrize(
    "target",
    [
        "//evil.test",
        "https://evil.test",
        "http://evil.test/index",
        "/\\evil.test",
        "////evil.test",
        "/\t/evil.test",
        "/\\/evil.test",
        "javascript:alert(1)",
        "/%0d%0aSet-Cookie:x=y",
        "/\r\nSet-Cookie:x=y",
    ],
)
def test_login_refuses_offsite_next(client, make_user, target):
    make_user()
    response = client.post(
        "/login",
        query_string={"next": target},
        data={"username": "susan", "password": PASSWORD},
    )
    assert response.status_code == 302
    location = response.headers["Location"]
    assert is_app_relative(location)
    assert "evil.test" not in location
    assert client.get_cookie("x", domain="app.example.com") is None


@pytest.mark.parametrize("path", ["/login", "/register"])
def test_signed_in_user_is_sent_home(client, auth, make_user, path):
    make_user()
    auth.login()
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"] == "/index"


# Logging out


def test_logout_get_only_asks(client, auth, make_user):
    make_user()
    auth.login()
    response = client.get("/logout")
    assert response.status_code == 200
    assert "Sign out?" in response.text
    assert client.get("/index").status_code == 200


def test_logout_post_signs_out(client, auth, make_user):
    make_user()
    auth.login(remember=True)
    response = auth.logout()
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert "You have been signed out." in client.get("/login").text
    assert client.get_cookie("remember_token", domain="app.example.com") is None
    assert sent_to_login(client)


def test_logout_when_signed_out(client):
    response = client.get("/logout")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"


# Changing the password


def change(client, current=PASSWORD, new=NEW_PASSWORD, repeat=None):
    """POST the change-password form."""
    data = {
        "current_password": current,
        "password": new,
        "password2": new if repeat is None else repeat,
    }
    return client.post("/change_password", data=data)


@pytest.mark.parametrize("method", ["get", "post"])
def test_change_password_requires_login(client, method):
    response = getattr(client, method)("/change_password")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=%2Fchange_password"


def test_change_password_page(client, auth, make_user):
    make_user()
    auth.login()
    response = client.get("/change_password")
    assert response.status_code == 200
    assert 'name="current_password"' in response.text


def test_change_password_wrong_current(app, client, auth, make_user, outbox):
    make_user()
    auth.login()
    before = stored_user(app)
    response = change(client, current="not my lamp orbit 42")
    assert response.status_code == 200
    assert field_error(response, "current_password") == (
        "That is not your current password."
    )
    assert stored_user(app) == before
    assert outbox == []


@pytest.mark.parametrize(
    ("field", "new", "repeat", "message"),
    [
        ("password", "short pass 1", None, TOO_SHORT),
        ("password", "password12345678!", None, TOO_COMMON),
        ("password", "Susan@Example.org 1999!", None, PERSONAL),
        ("password", "example-susan-qwerty", None, PERSONAL),
        ("password", "", None, REQUIRED),
        ("password2", NEW_PASSWORD, NEW_PASSWORD + "x", MISMATCH),
    ],
)
def test_change_password_rejects_new(
    app, client, auth, make_user, outbox, field, new, repeat, message
):
    make_user()
    auth.login()
    before = stored_user(app)
    response = change(client, new=new, repeat=repeat)
    assert response.status_code == 200
    assert message in field_error(response, field)
    assert stored_user(app) == before
    assert outbox == []


def test_change_password_ends_other_sessions(app, client, auth, make_user, outbox):
    make_user(email="Susan@Example.org")
    auth.login()
    other = app.test_client()
    AuthActions(other).login(remember=True)
    remember = other.get_cookie("remember_token", domain="app.example.com").value
    assert other.get("/index").status_code == 200

    response = change(client)
    assert response.status_code == 302
    assert response.headers["Location"] == "/settings"

    # This browser stays signed in; the other one and its cookie do not.
    assert client.get("/index").status_code == 200
    assert sent_to_login(other)
    stolen = app.test_client()
    stolen.set_cookie("remember_token", remember, domain="app.example.com")
    assert sent_to_login(stolen)

    assert len(outbox) == 1
    assert outbox[0].subject == CHANGED_SUBJECT
    assert outbox[0].recipients == ["Susan@Example.org"]
    assert NEW_PASSWORD not in outbox[0].body

    fresh = AuthActions(app.test_client())
    assert fresh.login(password=PASSWORD).status_code == 200
    assert fresh.login(password=NEW_PASSWORD).headers["Location"] == "/index"


def test_change_password_keeps_remember_me(app, client, auth, make_user):
    make_user()
    auth.login(remember=True)
    change(client)
    cookie = client.get_cookie("remember_token", domain="app.example.com")
    assert cookie is not None
    fresh = app.test_client()
    fresh.set_cookie("remember_token", cookie.value, domain="app.example.com")
    assert fresh.get("/index").status_code == 200


def test_login_upgrades_old_hash(app, client, auth, make_user):
    old_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256")
    make_user(password=None, password_hash=old_hash)
    assert auth.login(password="wrong lamp orbit 42").status_code == 200
    assert stored_user(app)[1] == old_hash

    response = auth.login()
    assert response.headers["Location"] == "/index"
    assert stored_user(app)[1].startswith("$argon2id$")
    assert client.get("/index").status_code == 200
    again = AuthActions(app.test_client()).login()
    assert again.headers["Location"] == "/index"
