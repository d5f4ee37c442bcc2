"""Error pages: our own page for each status, and no half-done work saved."""

import re

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from app import db
from app.models import User
from tests.conftest import PASSWORD, AuthActions

CSRF_FAILED = "The form expired or was sent from elsewhere. Reload it and try again."


def add_user(app, username):
    """Store a user with PASSWORD directly in app's database."""
    with app.app_context():
        user = User(username=username, email=f"{username}@example.org")
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.commit()


def usernames(app):
    """Every stored username, in creation order."""
    with app.app_context():
        return db.session.scalars(sa.select(User.username).order_by(User.id)).all()


@pytest.mark.parametrize("path", ["/no-such-page", "/user/", "/static/missing.css"])
def test_404_page(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert "404 · Not Found" in response.text
    assert "There is nothing at this address." in response.text
    assert 'href="/index"' in response.text


def test_404_page_signed_in(client, auth, make_user):
    make_user()
    auth.login()
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "There is nothing at this address." in response.text
    assert 'action="/logout"' in response.text


def test_500_page_rolls_back(make_app):
    app = make_app(PROPAGATE_EXCEPTIONS=False)

    @app.route("/boom")
    def boom():
        db.session.add(User(username="ghost", email="ghost@example.org"))
        raise RuntimeError("boom")

    @app.after_request
    def commit_later(response):
        # Anything that commits after the handler must find nothing pending.
        db.session.commit()
        return response

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert "500 · Internal server error" in response.text
    assert "Something went wrong on our side." in response.text
    assert "RuntimeError" not in response.text
    assert usernames(app) == []


def test_500_page_after_failed_flush(make_app):
    app = make_app(PROPAGATE_EXCEPTIONS=False)
    add_user(app, "susan")

    @app.route("/clash")
    def clash():
        db.session.add(User(username="susan", email="other@example.org"))
        db.session.flush()
        return "unreachable"

    client = app.test_client()
    AuthActions(client).login()
    response = client.get("/clash")
    assert response.status_code == 500
    assert "Something went wrong on our side." in response.text
    # The page still knows who is signed in: the session was usable again.
    assert 'href="/user/susan"' in response.text
    assert usernames(app) == ["susan"]
    assert client.get("/index").status_code == 200


@pytest.mark.parametrize(
    ("path", "data"),
    [
        (
            "/register",
            {"username": "susan", "email": "susan@example.org", "password2": "x"},
        ),
        ("/login", {"username": "susan"}),
    ],
)
def test_413_for_oversized_body(app, client, monkeypatch, path, data):
    def forbidden(*args, **kwargs):
        pytest.fail("the password hasher ran on an oversized request")

    monkeypatch.setattr(PasswordHasher, "hash", forbidden)
    monkeypatch.setattr(PasswordHasher, "verify", forbidden)
    response = client.post(path, data={**data, "password": "x" * 1024 * 1024})
    assert response.status_code == 413
    assert "That was more data than this site accepts in one go." in response.text
    assert usernames(app) == []


def test_body_under_the_limit_is_read(app, client):
    # 60 KiB is under MAX_CONTENT_LENGTH: the form answers, not the 413 page.
    data = {"username": "susan", "password": "x" * 60 * 1024}
    response = client.post("/login", data=data)
    assert response.status_code == 200
    assert "Invalid username or password." in response.text


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/follow/susan"), ("get", "/unfollow/susan"), ("put", "/index")],
)
def test_405_page(client, method, path):
    response = getattr(client, method)(path)
    assert response.status_code == 405
    assert "405 · Method Not Allowed" in response.text
    assert "That page can&#39;t be used like that." in response.text


def test_405_lists_allowed_methods(client):
    # RFC 9110, 15.5.6: a 405 response MUST carry an Allow header.
    response = client.get("/follow/susan")
    assert response.status_code == 405
    assert "POST" in response.headers.get("Allow", "")


def csrf_token(response):
    """The CSRF token embedded in a page."""
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', response.text)[1]


# Requests run over https (PREFERRED_URL_SCHEME), where Flask-WTF also wants
# a same-site Referer; a real browser sends one.
REFERER = {"Referer": "https://app.example.com/"}


def signed_in_client(app):
    """A client of app signed in as susan through the real, protected form."""
    client = app.test_client()
    token = csrf_token(client.get("/login"))
    data = {"username": "susan", "password": PASSWORD, "csrf_token": token}
    response = client.post("/login", data=data, headers=REFERER)
    assert response.headers["Location"] == "/index"
    return client


def following(app, follower="susan", followed="john"):
    """Whether follower follows followed."""
    with app.app_context():
        one = db.session.scalar(sa.select(User).where(User.username == follower))
        two = db.session.scalar(sa.select(User).where(User.username == followed))
        return one.is_following(two)


@pytest.mark.parametrize("token", [None, "forged-token"])
def test_csrf_failure_on_follow(csrf_app, token):
    client = signed_in_client(csrf_app)
    data = {} if token is None else {"csrf_token": token}
    response = client.post("/follow/john", data=data, headers=REFERER)
    assert response.status_code == 400
    assert CSRF_FAILED in response.text
    assert not following(csrf_app)

    # The same request with the page's token goes through.
    token = csrf_token(client.get("/user/john"))
    response = client.post("/follow/john", data={"csrf_token": token}, headers=REFERER)
    assert response.status_code == 302
    assert following(csrf_app)


def test_csrf_failure_on_logout(csrf_app):
    client = signed_in_client(csrf_app)
    response = client.post("/logout", headers=REFERER)
    assert response.status_code == 400
    assert CSRF_FAILED in response.text
    assert client.get("/index").status_code == 200


def test_csrf_failure_on_login(csrf_app):
    client = csrf_app.test_client()
    data = {"username": "susan", "password": PASSWORD}
    response = client.post("/login", data=data, headers=REFERER)
    assert response.status_code == 400
    assert CSRF_FAILED in response.text
    assert client.get("/index").status_code == 302


def test_csrf_failure_on_register(csrf_app):
    client = csrf_app.test_client()
    data = {
        "username": "mary",
        "email": "mary@example.org",
        "password": PASSWORD,
        "password2": PASSWORD,
    }
    response = client.post("/register", data=data, headers=REFERER)
    assert response.status_code == 400
    assert CSRF_FAILED in response.text
    assert usernames(csrf_app) == ["susan", "john"]


def test_csrf_failure_on_post(csrf_app):
    client = signed_in_client(csrf_app)
    response = client.post("/index", data={"post": "forged"}, headers=REFERER)
    assert response.status_code == 400
    assert CSRF_FAILED in response.text
    assert "forged" not in client.get("/explore").text
