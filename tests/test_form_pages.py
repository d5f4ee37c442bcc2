"""Blank sign-in pages: rendered once, each visitor with a token of their own."""

import re

import pytest

from app.fragments import stores
from tests.conftest import PASSWORD
from tests.test_errors import REFERER, add_user, csrf_token

PAGES = ["/login", "/register", "/reset_password_request"]


@pytest.fixture
def csrf_app(make_app):
    """An app that checks CSRF tokens, with user susan."""
    app = make_app(WTF_CSRF_ENABLED=True)
    add_user(app, "susan")
    return app


def without_token(page: str) -> str:
    """The page with its CSRF token blanked out."""
    return re.sub(r'(name="csrf_token" value=")[^"]+"', r'\1"', page)


@pytest.mark.parametrize("path", PAGES)
def test_every_visitor_gets_the_same_page_with_a_token_of_their_own(csrf_app, path):
    first = csrf_app.test_client().get(path)
    second = csrf_app.test_client().get(path)
    assert first.status_code == second.status_code == 200
    assert csrf_token(first) != csrf_token(second)
    assert without_token(first.text) == without_token(second.text)
    assert "\x00" not in second.text


def test_pages_are_kept_apart(csrf_app):
    expected = ["Sign in", "Register", "Reset password"]
    for _ in range(2):
        pages = [csrf_app.test_client().get(path).text for path in PAGES]
        titles = [re.search(r"<title>(.*?) · ", page)[1] for page in pages]
        assert titles == expected
    assert len(stores(csrf_app)["form pages"].entries) == len(PAGES)


def test_stored_page_token_signs_its_visitor_in(csrf_app):
    csrf_app.test_client().get("/login")  # the page is stored now
    client, other = csrf_app.test_client(), csrf_app.test_client()
    own, foreign = csrf_token(client.get("/login")), csrf_token(other.get("/login"))
    data = {"username": "susan", "password": PASSWORD}

    refused = client.post(
        "/login", data=data | {"csrf_token": foreign}, headers=REFERER
    )
    assert refused.status_code == 400

    accepted = client.post("/login", data=data | {"csrf_token": own}, headers=REFERER)
    assert accepted.headers["Location"] == "/index"


def test_messages_still_show_on_a_stored_page(client):
    client.get("/login")
    client.get("/login")
    client.post("/reset_password_request", data={"email": "nobody@example.com"})
    page = client.get("/login").text
    assert "If that address is registered" in page
    assert "If that address is registered" not in client.get("/login").text


def test_failed_sign_in_shows_what_was_typed(client, make_user):
    make_user()
    client.get("/login")
    client.get("/login")
    page = client.post("/login", data={"username": "susan", "password": "wrong"}).text
    assert 'value="susan"' in page
    assert "Invalid username or password." in page
    assert 'value="susan"' not in client.get("/login").text


def test_stored_post_form_posts_with_each_readers_own_token(csrf_app):
    """The home page's blank post form is stored too: each reader's token works."""
    add_user(csrf_app, "john")
    readers = []
    for name in ("susan", "john"):
        client = csrf_app.test_client()
        token = csrf_token(client.get("/login"))
        data = {"username": name, "password": PASSWORD, "csrf_token": token}
        assert client.post("/login", data=data, headers=REFERER).status_code == 302
        readers.append(client)
    pages = [reader.get("/index").text for reader in readers * 2]
    assert len({csrf_token_of(page) for page in pages[:2]}) == 2
    assert "\x00" not in pages[3]
    assert 'name="post"' in pages[3]
    for reader, page in zip(readers, pages[2:], strict=True):
        data = {"post": "hello from a stored form", "csrf_token": csrf_token_of(page)}
        posted = reader.post("/index", data=data, headers=REFERER)
        assert posted.status_code == 302
    foreign = {"post": "x", "csrf_token": csrf_token_of(pages[3])}
    assert readers[0].post("/index", data=foreign, headers=REFERER).status_code == 400


def csrf_token_of(page: str) -> str:
    """The CSRF token in the page's post form (not the navigation's forms)."""
    form = re.search(r'<form method="post" novalidate>(.*?)</form>', page, re.S)[1]
    return re.search(r'name="csrf_token" value="([^"]+)"', form)[1]
